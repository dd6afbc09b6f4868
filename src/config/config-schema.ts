/** The zod schema of airlock.yaml (after `${VAR}` substitution), with defaults, and its issues as ConfigIssues. */
import * as z from 'zod';
import { type ConfigIssue, formatKeyPath } from './config-error.js';
import {
  booleanField,
  byteSizeField,
  choiceField,
  describeType,
  durationField,
  field,
  hostPortField,
  integerField,
  namedMap,
  quote,
  reject,
  section,
  strictMapping,
  textField,
} from './config-fields.js';

/** Upstream and role names: what agents put in `dbname`, and what tokens are bound to. */
export const CONFIG_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

/** Longest wait a Node timer can hold (setTimeout overflows past 2^31-1 ms and fires at once). */
const TIMER_MAX = '24d';

const UPSTREAM_TLS_MODES = ['disable', 'require', 'verify-full'] as const;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** `sqlite:<path>` or `sqlite::memory:`; the path stays relative here and is resolved against the config dir later. */
const storeField = field((value): { kind: 'sqlite'; path: string } => {
  const text = value ?? 'sqlite:./airlock.db';
  const fix = "write sqlite:<path>, e.g. sqlite:./airlock.db ('sqlite::memory:', quoted, for tests)";
  if (typeof text !== 'string') reject(`expected text, got ${describeType(text)}`, fix);
  // The value is not quoted: a future store URL may carry a password.
  if (!text.startsWith('sqlite:')) reject('uses an unsupported store; only sqlite: exists', fix);
  const path = text.slice('sqlite:'.length);
  if (path === '') reject('names no database file', fix);
  return { kind: 'sqlite', path };
});

/** `verify-full` or `{ mode: verify-full, ca: ca.crt }`; a mode left out is decided from the host later. */
const upstreamTls = z.preprocess(
  (value) => (typeof value === 'string' ? { mode: value } : (value ?? {})),
  strictMapping({ mode: choiceField(UPSTREAM_TLS_MODES, null), ca: textField({ fallback: null }) }),
);

const upstream = strictMapping({
  url: textField({ hint: 'add url: postgres://USER@HOST[:PORT]/DATABASE' }),
  password: textField({ fallback: null }),
  tls: upstreamTls,
  connect_timeout: durationField('10s', { min: '1ms', max: TIMER_MAX }),
});

/** Only `upstream` is checked here; the other keys are policy, read from the file by resolveRolePolicy. */
const role = z.looseObject({ upstream: textField({ hint: 'add upstream: <the name of an upstream>' }) });

/** How durable an audit record is before the statement it records may run (docs/audit.md). */
export const AUDIT_DURABILITIES = ['fsync', 'os'] as const;

/** Continuous shipping to a rotating JSONL file; absent (or empty) means off. */
const auditSink = z.preprocess(
  (value) => value ?? null,
  strictMapping({
    path: textField({ hint: 'add path: <file>, e.g. /var/log/airlock/audit.jsonl' }),
    max_bytes: byteSizeField('100MiB', { min: '1KiB', max: '1024GiB' }),
    keep: integerField(10, { min: 1, max: 1000 }),
    poll: durationField('1s', { min: '10ms', max: '1h' }),
  }).nullable(),
);
/** Who may search the audit trail over HTTP; the key is checked and hashed by resolveConfig. */
const auditor = strictMapping({
  key: textField({
    hint: `add key: \${CAROL_AUDIT_KEY}, a variable holding the output of: openssl rand -hex 32`,
  }),
});

/** A reviewer of held statements; the key is checked and hashed by resolveConfig like an auditor's. */
const reviewer = strictMapping({
  /** The key itself (through a variable), or… */
  key: textField({ fallback: null }),
  /** …its SHA-256 in hex, so the config holds no secret at all (`printf %s "$KEY" | sha256sum`). */
  key_sha256: textField({ fallback: null }),
  /** Token subjects that are this person (e.g. alice@example.com): they cannot approve their own statements. */
  subjects: field((value): string[] => {
    if (value === undefined) return [];
    const fix = 'write a list of token subjects, e.g. subjects: [alice@example.com]';
    if (!Array.isArray(value)) reject(`expected a list, got ${describeType(value)}`, fix);
    return value.map((entry: unknown) => {
      if (typeof entry !== 'string' || entry === '') reject('holds something other than a subject', fix);
      return entry;
    });
  }),
});

/** One outgoing webhook for approval requests and decisions (docs/webhooks.md). */
const notifyTarget = strictMapping({
  url: field((value): string => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's ${VAR} syntax, shown to the operator.
    const fix = 'write the receiver URL, e.g. url: https://hooks.example/airlock (or ${SLACK_WEBHOOK_URL})';
    if (typeof value !== 'string' || value === '') reject('is required', fix);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      // Not quoted: a webhook URL may carry a secret.
      reject('is not a URL', fix);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') reject('is not an http(s) URL', fix);
    if (url.username !== '' || url.password !== '') reject('carries a user name or password', fix);
    return value;
  }),
  secret: textField({ fallback: null }),
  format: choiceField(['json', 'slack'], 'json'),
});

/** The whole file. Every section but listen, upstreams and roles may be left out. */
export const configFileSchema = strictMapping({
  listen: section({
    postgres: hostPortField({ required: true }),
    http: hostPortField({ required: false }),
    advertise: hostPortField({ required: false }),
    allow_plaintext_remote: booleanField(false),
  }),
  tls: z.preprocess(
    (value) => value ?? {},
    strictMapping({ cert: textField({ fallback: null }), key: textField({ fallback: null }) }),
  ),
  store: storeField,
  upstreams: namedMap('upstream', CONFIG_NAME, upstream),
  roles: namedMap('role', CONFIG_NAME, role),
  auth: section({
    method: choiceField(['scram-sha-256', 'password'], 'scram-sha-256'),
    scram_iterations: integerField(4096, { min: 4096 }),
  }),
  tokens: section({
    default_ttl: durationField('15m', { min: '1s' }),
    max_ttl: durationField('24h', { min: '1s' }),
    revocation_check: durationField('5s', { min: '1ms', max: TIMER_MAX }),
  }),
  limits: section({
    max_message_size: byteSizeField('64MiB', { min: '1KiB', max: '1GiB' }),
    startup_timeout: durationField('10s', { min: '1ms', max: TIMER_MAX }),
    max_connections: integerField(1000, { min: 1 }),
  }),
  shutdown: section({ grace: durationField('30s', { min: '0ms', max: TIMER_MAX }) }),
  log: section({ level: choiceField(LOG_LEVELS, 'info') }),
  audit: section({
    instance: textField({ fallback: null }),
    signing_key: textField({ fallback: null }),
    checkpoint_every: integerField(100, { min: 1, max: 100_000 }),
    checkpoint_interval: durationField('10s', { min: '100ms', max: '24h' }),
    durability: choiceField(AUDIT_DURABILITIES, 'fsync'),
    sink: auditSink,
  }),
  auditors: namedMap('auditor', CONFIG_NAME, auditor, { optional: true }),
  reviewers: namedMap('reviewer', CONFIG_NAME, reviewer, { optional: true }),
  notify: field((value): unknown[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      reject(
        `expected a list, got ${describeType(value)}`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's ${VAR} syntax, shown to the operator.
        'write notify: [{ url: https://hooks.example/airlock, secret: ${HOOK_SECRET} }]',
      );
    }
    return value;
  }).pipe(z.array(notifyTarget)),
  approvals: section({
    /** Where reviewers reach this gateway's HTTP API, shown in notices and webhooks. */
    public_url: textField({ fallback: null }),
    /** How often a waiting statement looks in the store for decisions made by other processes (the CLI). */
    poll: durationField('500ms', { min: '10ms', max: '1m' }),
  }),
  /** Read from the tree by the masking reader (docs/masking.md), like role policies. */
  classify: z.unknown().optional(),
  /** Read from the tree by the trust reader (docs/ci.md). */
  trust: z.unknown().optional(),
  masking: section({
    hash_key: textField({ fallback: null }),
    catalog_refresh: durationField('30s', { min: '0ms', max: '24h' }),
  }),
});

/** The file as validated: snake_case keys, defaults applied, durations in ms, sizes in bytes. */
export type ConfigFile = z.output<typeof configFileSchema>;

/**
 * Validates the substituted YAML tree; on failure, one ConfigIssue per problem. Where a quoted value came from
 * `${VAR}`, the message quotes the text as written in `rawTree` instead: environment values may be secrets.
 */
export function validateConfigFile(
  tree: unknown,
  rawTree: unknown,
): { readonly ok: true; readonly file: ConfigFile } | { readonly ok: false; readonly issues: ConfigIssue[] } {
  const result = configFileSchema.safeParse(tree, { reportInput: true });
  if (result.success) return { ok: true, file: result.data };
  return {
    ok: false,
    issues: result.error.issues.flatMap((issue) => {
      const written = valueAt(rawTree, issue.path);
      const substituted = valueAt(tree, issue.path);
      return toConfigIssues(issue).map((converted) =>
        typeof written === 'string' && written !== substituted
          ? { ...converted, problem: converted.problem.replaceAll(quote(substituted), quote(written)) }
          : converted,
      );
    }),
  };
}

/** The value at `path`; a string met on the way is returned as is (a preprocess may have wrapped it). */
function valueAt(tree: unknown, path: readonly PropertyKey[]): unknown {
  let node = tree;
  for (const part of path) {
    if (typeof node === 'string') return node;
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  const key = formatKeyPath(issue.path);
  switch (issue.code) {
    case 'custom':
      return [{ key, problem: issue.message, fix: String(issue.params?.fix ?? 'see docs/configuration.md') }];
    case 'unrecognized_keys':
      return issue.keys.map((name) => ({
        key: formatKeyPath([...issue.path, name]),
        problem: 'is not a known key',
        fix: issue.message,
      }));
    case 'invalid_type':
      return [
        {
          key,
          problem: `expected ${issue.expected === 'object' || issue.expected === 'record' ? 'a mapping' : issue.expected}, got ${describeType(issue.input)}`,
          fix: 'see docs/configuration.md for the shape of this section',
        },
      ];
    default:
      return [{ key, problem: issue.message, fix: 'see docs/configuration.md' }];
  }
}
