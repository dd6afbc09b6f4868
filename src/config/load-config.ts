/** Loads airlock.yaml: YAML -> `${VAR}` substitution -> schema -> resolution -> one deep-frozen AirlockConfig. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from './config-error.js';
import { validateConfigFile } from './config-schema.js';
import type { AirlockConfig } from './config-types.js';
import { holdsPlaceholderCharacters, restoreEnvReferences, shieldEnvReferences } from './env-references.js';
import { substituteEnv } from './env-substitution.js';
import { resolveConfig } from './resolve-config.js';

export { ConfigError, type ConfigIssue } from './config-error.js';

/** Options for parseConfigText: where relative paths start, what to report as the source, which environment to read. */
export interface ParseConfigOptions {
  /** Directory that relative paths (tls files, the sqlite store) are resolved against. */
  readonly baseDir: string;
  /** Absolute path of the file the text came from, or null for text built in code. */
  readonly source: string | null;
  /** Environment for `${VAR}` substitution; defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * 'ignored' drops the secrets only a running gateway uses before substitution: `upstreams.*.password`
   * (resolved as null), the `auditors` and `notify` sections (resolved as none), and reviewers whose key
   * variable is unset here. For commands that never connect
   * upstream nor serve HTTP — `airlock token …` must not need the database password. Default 'required'.
   */
  readonly upstreamSecrets?: 'required' | 'ignored';
}

/** Reads and validates the config file at `path`; throws ConfigError naming the key and the fix. */
export function loadConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  options: Pick<ParseConfigOptions, 'upstreamSecrets'> = {},
): AirlockConfig {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? {
            key: '',
            problem: `config file ${absolute} does not exist`,
            fix: 'check the path (airlock.example.yaml is a start)',
          }
        : {
            key: '',
            problem: `cannot read config file ${absolute} (${code ?? 'unknown error'})`,
            fix: 'check the path and its permissions',
          },
    );
  }
  return parseConfigText(text, { ...options, baseDir: dirname(absolute), source: absolute, env });
}

/** Validates YAML text (e.g. built in a test or the demo) into a deep-frozen AirlockConfig; throws ConfigError. */
export function parseConfigText(text: string, options: ParseConfigOptions): AirlockConfig {
  const parsed = parseYaml(text);
  const env = options.env ?? process.env;
  const rawTree = options.upstreamSecrets === 'ignored' ? withoutGatewaySecrets(parsed, env) : parsed;
  const substitution = substituteEnv(rawTree, env);
  const validation = validateConfigFile(substitution.value, rawTree);
  const envKeys = substitution.issues.map((issue) => issue.key);
  // A value whose variable is missing fails the schema too; report the cause only.
  const schemaIssues = validation.ok
    ? []
    : validation.issues.filter((issue) => !envKeys.some((key) => isSameOrInside(issue.key, key)));
  const issues = [...substitution.issues, ...schemaIssues];
  if (issues.length > 0 || !validation.ok) throw new ConfigError(issues);
  const resolved = resolveConfig(validation.file, {
    baseDir: resolve(options.baseDir),
    source: options.source,
    env,
    rawTree,
    tree: substitution.value,
  });
  if (!resolved.ok) throw new ConfigError(resolved.issues);
  return deepFreeze(resolved.config);
}

/**
 * A copy of the tree without `upstreams.<name>.password`, `auditors`, `notify`, and the reviewers whose
 * `key` names a variable this environment does not set (the rest is shared, read-only): a reviewer on
 * their own machine has their own key, or a `key_sha256`, never everyone's.
 */
function withoutGatewaySecrets(
  tree: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Record<string, unknown> {
  const { auditors: _auditors, notify: _notify, ...rest } = tree;
  const reviewers = rest.reviewers;
  if (reviewers !== null && typeof reviewers === 'object' && !Array.isArray(reviewers)) {
    rest.reviewers = Object.fromEntries(
      Object.entries(reviewers).filter(([, reviewer]) => {
        const key = (reviewer as { key?: unknown } | null)?.key;
        return (
          typeof key !== 'string' || [...key.matchAll(/\$\{(\w+)\}/g)].every((m) => env[m[1]!] !== undefined)
        );
      }),
    );
  }
  return withoutUpstreamPasswords(rest);
}

/** A copy of the tree without `upstreams.<name>.password` (the rest is shared, read-only). */
function withoutUpstreamPasswords(tree: Record<string, unknown>): Record<string, unknown> {
  const upstreams = tree.upstreams;
  if (upstreams === null || typeof upstreams !== 'object' || Array.isArray(upstreams)) return tree;
  const stripped = Object.fromEntries(
    Object.entries(upstreams).map(([name, upstream]) => {
      if (upstream === null || typeof upstream !== 'object' || Array.isArray(upstream))
        return [name, upstream];
      const { password: _dropped, ...rest } = upstream as Record<string, unknown>;
      return [name, rest];
    }),
  );
  return { ...tree, upstreams: stripped };
}

function parseYaml(text: string): Record<string, unknown> {
  if (holdsPlaceholderCharacters(text)) {
    throw new ConfigError({
      key: '',
      problem: 'the file contains the private-use characters U+E000 or U+E001',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's ${VAR} syntax, shown to the operator.
      fix: 'remove them (Airlock uses them internally while reading ${VAR} references)',
    });
  }
  const document = parseDocument(shieldEnvReferences(text), { prettyErrors: true, uniqueKeys: true });
  // Only the first syntax error: the parser's later ones are mostly echoes of it.
  const syntaxError = document.errors[0];
  if (syntaxError !== undefined) {
    const position = syntaxError.linePos?.[0];
    const where = position === undefined ? '' : ` at line ${position.line}, column ${position.col}`;
    const message = (syntaxError.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError({
      key: '',
      problem: `YAML syntax error${where}: ${message}`,
      fix: 'correct the YAML there (quote values that start with { [ * & ! | > or contain ": ")',
    });
  }
  let tree: unknown;
  try {
    tree = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError({
      key: '',
      problem: `YAML cannot be read: ${(error as Error).message}`,
      fix: 'simplify the file',
    });
  }
  if (tree === null || tree === undefined) {
    throw new ConfigError({
      key: '',
      problem: 'the config is empty',
      fix: 'start from airlock.example.yaml',
    });
  }
  if (isCyclic(tree)) {
    throw new ConfigError({
      key: '',
      problem: 'a YAML alias refers to a node that contains it',
      fix: 'remove the recursive alias (*name inside &name)',
    });
  }
  if (typeof tree !== 'object' || Array.isArray(tree)) {
    throw new ConfigError({
      key: '',
      problem: 'the config must be a YAML mapping of sections',
      fix: 'start from airlock.example.yaml (listen, upstreams, roles, ...)',
    });
  }
  return restoreEnvReferences(tree) as Record<string, unknown>;
}

/** YAML aliases may point at an ancestor; such a tree has no end, so every later walk would overflow. */
function isCyclic(node: unknown, ancestors: Set<object> = new Set()): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (ancestors.has(node)) return true;
  ancestors.add(node);
  const cyclic = Object.values(node).some((child) => isCyclic(child, ancestors));
  ancestors.delete(node);
  return cyclic;
}

function isSameOrInside(key: string, prefix: string): boolean {
  return key === prefix || key.startsWith(`${prefix}.`) || key.startsWith(`${prefix}[`);
}

/** Freezes plain data all the way down; byte arrays (a key) cannot be frozen and are left as they are. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
