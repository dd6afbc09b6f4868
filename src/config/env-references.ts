/**
 * `${VAR}` references survive YAML parsing wherever they are written: in flow style (`{ key: ${KEY} }`)
 * YAML reads `{` and `}` as structure, so each reference is swapped for a placeholder of two
 * private-use characters before parsing and swapped back in every parsed string afterwards.
 */

const OPEN = '\uE000';
const CLOSE = '\uE001';
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const PLACEHOLDER = new RegExp(`${OPEN}([A-Za-z_][A-Za-z0-9_]*)${CLOSE}`, 'g');

/** True when `text` already holds the placeholder characters (then shielding could not be undone exactly). */
export function holdsPlaceholderCharacters(text: string): boolean {
  return text.includes(OPEN) || text.includes(CLOSE);
}

/** `text` with every `${NAME}` replaced by a placeholder YAML reads as plain text in any style. */
export function shieldEnvReferences(text: string): string {
  return text.replace(REFERENCE, `${OPEN}$1${CLOSE}`);
}

/**
 * The parsed (acyclic) tree with every placeholder turned back into `${NAME}`, in values and keys. A node
 * YAML aliases in several places is restored once and shared again, so aliases do not multiply work.
 */
export function restoreEnvReferences(node: unknown, done: Map<object, unknown> = new Map()): unknown {
  if (typeof node === 'string') return node.includes(OPEN) ? node.replace(PLACEHOLDER, '$${$1}') : node;
  if (node === null || typeof node !== 'object') return node;
  const seen = done.get(node);
  if (seen !== undefined) return seen;
  if (Array.isArray(node)) {
    const restored = node.map((item) => restoreEnvReferences(item, done));
    done.set(node, restored);
    return restored;
  }
  const restored: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    Object.defineProperty(restored, restoreEnvReferences(key, done) as string, {
      value: restoreEnvReferences(value, done),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  done.set(node, restored);
  return restored;
}
