/** `${VAR}` substitution over the parsed YAML tree: string values only, so a variable cannot inject YAML structure. */
import { type ConfigIssue, formatKeyPath } from './config-error.js';

/** `$${` (escape), `${NAME}` (reference) or a `${` that starts neither (malformed). */
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{/g;

/** A string with its references replaced, or the problems that prevented it. */
export type SubstitutionResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly problems: readonly Omit<ConfigIssue, 'key'>[] };

/** Replaces each `${NAME}` in `text` with `env.NAME`; `$${` yields a literal `${`. Never echoes `text` in problems. */
export function substituteString(text: string, env: NodeJS.ProcessEnv): SubstitutionResult {
  const problems: Omit<ConfigIssue, 'key'>[] = [];
  const result = text.replace(REFERENCE, (match: string, name: string | undefined) => {
    if (match === '$${') return '${';
    if (name === undefined) {
      problems.push({
        problem: `contains a malformed \${...} reference`,
        fix: `write \${NAME} (letters, digits, _) or $\${ for a literal \${`,
      });
      return match;
    }
    const value = env[name];
    if (value === undefined) {
      problems.push({
        problem: `environment variable ${name} is not set`,
        fix: 'export it or remove the key',
      });
      return match;
    }
    return value;
  });
  return problems.length === 0 ? { ok: true, text: result } : { ok: false, problems };
}

/** Returns a copy of `tree` with every string value substituted, plus one issue per failed reference. */
export function substituteEnv(
  tree: unknown,
  env: NodeJS.ProcessEnv,
): { readonly value: unknown; readonly issues: readonly ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const walk = (node: unknown, path: readonly (string | number)[]): unknown => {
    if (typeof node === 'string') {
      const result = substituteString(node, env);
      if (result.ok) return result.text;
      for (const p of result.problems) issues.push({ key: formatKeyPath(path), ...p });
      return node;
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (node !== null && typeof node === 'object') {
      // fromEntries defines own properties, so a `__proto__` key stays data instead of becoming a prototype.
      return Object.fromEntries(
        Object.entries(node).map(([key, child]) => [key, walk(child, [...path, key])]),
      );
    }
    return node;
  };
  const value = walk(tree, []);
  return { value, issues };
}
