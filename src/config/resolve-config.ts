/** Turns the validated file into AirlockConfig: reads PEM files, parses upstream URLs, resolves role policies, checks cross-references. */
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { readApprovalSettings } from '../approvals/approval-settings.js';
import { readTrustConfig } from '../identity/oidc/read-trust-config.js';
import { readClassify, readMaskPolicy } from '../masking/read-mask-policy.js';
import { resolveRolePolicy } from '../policy/role-policy.js';
import { AUDITOR_KEY_FIX, auditorKeyProblem, hashAuditorKey } from './auditor-keys.js';
import type { ConfigIssue } from './config-error.js';
import type { ConfigFile } from './config-schema.js';
import type {
  AirlockConfig,
  AuditorConfig,
  AuditSinkConfig,
  NotifyTarget,
  ReviewerConfig,
  RoleConfig,
  UpstreamConfig,
  UpstreamTlsMode,
} from './config-types.js';
import { isLoopbackHost } from './loopback-host.js';
import { readPemFile } from './pem-file.js';
import { parseUpstreamUrl } from './upstream-url.js';

/** Where the audit signing key lives unless `audit.signing_key` says otherwise (relative to the config). */
const DEFAULT_AUDIT_SIGNING_KEY = './airlock-audit.key';

/** What resolution needs besides the validated file. */
export interface ResolveContext {
  /** Absolute directory that relative paths (tls files, sqlite store) start from. */
  readonly baseDir: string;
  readonly source: string | null;
  readonly env: NodeJS.ProcessEnv;
  /** The YAML tree before substitution: upstream URLs are checked for literal passwords as written. */
  readonly rawTree: unknown;
  /** The YAML tree after substitution: role policy keys are read from it verbatim. */
  readonly tree: unknown;
}

/** Builds the (not yet frozen) AirlockConfig, or returns every issue found. */
export function resolveConfig(
  file: ConfigFile,
  context: ResolveContext,
):
  | { readonly ok: true; readonly config: AirlockConfig }
  | { readonly ok: false; readonly issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const { postgres, http } = file.listen;
  if (http !== null && http.port !== 0 && http.port === postgres.port && http.host === postgres.host) {
    issues.push({
      key: 'listen.http',
      problem: 'is the same address as listen.postgres',
      fix: 'use another port',
    });
  }
  const tls = resolveListenerTls(file.tls, context.baseDir, issues);
  const upstreams = resolveUpstreams(file, context, issues);
  const roles = resolveRoles(file, context, issues);
  if (file.tokens.default_ttl > file.tokens.max_ttl) {
    issues.push({
      key: 'tokens.default_ttl',
      problem: 'is longer than tokens.max_ttl',
      fix: 'lower tokens.default_ttl or raise tokens.max_ttl',
    });
  }
  const instance = file.audit.instance ?? hostname();
  if (instance.trim() === '' || instance.length > 255) {
    issues.push({
      key: 'audit.instance',
      problem: instance.trim() === '' ? 'is empty' : 'is longer than 255 characters',
      fix: 'name this gateway, e.g. gw-eu-1 (or remove the key to use the host name)',
    });
  }
  const signingKey = file.audit.signing_key ?? DEFAULT_AUDIT_SIGNING_KEY;
  if (signingKey.trim() === '') {
    issues.push({
      key: 'audit.signing_key',
      problem: 'is empty',
      fix: 'name a key file, e.g. ./airlock-audit.key (created on first use)',
    });
  }
  const auditors = resolveAuditors(file.auditors, issues);
  const reviewers = resolveReviewers(file.reviewers, issues);
  const notify = resolveNotify(file.notify, issues);
  const publicUrl = resolvePublicUrl(file.approvals.public_url, issues);
  const trust = readTrustConfig(
    childOf(context.tree, 'trust'),
    { baseDir: context.baseDir, roles: Object.keys(roles), maxTtlMs: file.tokens.max_ttl },
    issues,
  );
  if (issues.length > 0) return { ok: false, issues };
  const storePath = file.store.path === ':memory:' ? ':memory:' : resolve(context.baseDir, file.store.path);
  const signingKeyPath = resolve(context.baseDir, signingKey);
  const sink = resolveAuditSink(file.audit.sink, context.baseDir, [storePath, signingKeyPath], issues);
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    config: {
      source: context.source,
      listen: {
        postgres,
        http,
        advertise: file.listen.advertise ?? null,
        allowPlaintextRemote: file.listen.allow_plaintext_remote,
      },
      tls,
      store: { kind: file.store.kind, path: storePath },
      upstreams,
      roles,
      auth: { method: file.auth.method, scramIterations: file.auth.scram_iterations },
      tokens: {
        defaultTtlMs: file.tokens.default_ttl,
        maxTtlMs: file.tokens.max_ttl,
        revocationCheckMs: file.tokens.revocation_check,
      },
      limits: {
        maxMessageBytes: file.limits.max_message_size,
        startupTimeoutMs: file.limits.startup_timeout,
        maxConnections: file.limits.max_connections,
      },
      shutdown: { graceMs: file.shutdown.grace },
      log: { level: file.log.level },
      audit: {
        instance,
        signingKeyPath,
        checkpointEvery: file.audit.checkpoint_every,
        checkpointIntervalMs: file.audit.checkpoint_interval,
        durability: file.audit.durability,
        sink,
      },
      auditors,
      trust,
      reviewers,
      notify,
      approvals: { publicUrl, pollMs: file.approvals.poll },
      masking: { catalogRefreshMs: file.masking.catalog_refresh },
    },
  };
}

/** `audit.sink` with its path resolved; it must not name a file Airlock keeps for itself. */
function resolveAuditSink(
  sink: ConfigFile['audit']['sink'],
  baseDir: string,
  ownFiles: readonly string[],
  issues: ConfigIssue[],
): AuditSinkConfig | null {
  if (sink === null) return null;
  const written = sink.path ?? '';
  const path = resolve(baseDir, written);
  const taken = ownFiles.flatMap((file) => [
    file,
    `${file}.pub`,
    `${file}-wal`,
    `${file}-shm`,
    `${file}-journal`,
  ]);
  if (written.trim() === '' || /[/\\]$/.test(written)) {
    issues.push({
      key: 'audit.sink.path',
      problem: written.trim() === '' ? 'is empty' : 'names a directory',
      fix: 'name the file to write, e.g. /var/log/airlock/audit.jsonl',
    });
  } else if (taken.includes(path)) {
    issues.push({
      key: 'audit.sink.path',
      problem: 'is the store or the audit signing key',
      fix: 'name a file of its own, e.g. /var/log/airlock/audit.jsonl',
    });
  } else if (existsSync(path) && statSync(path).isDirectory()) {
    issues.push({
      key: 'audit.sink.path',
      problem: 'is a directory',
      fix: `name a file in it, e.g. ${join(path, 'audit.jsonl')}`,
    });
  }
  return { path, maxBytes: sink.max_bytes, keep: sink.keep, pollMs: sink.poll };
}

function resolveListenerTls(
  tls: ConfigFile['tls'],
  baseDir: string,
  issues: ConfigIssue[],
): AirlockConfig['tls'] {
  if (tls.cert === null && tls.key === null) return null;
  if (tls.cert === null || tls.key === null) {
    const missing = tls.cert === null ? 'cert' : 'key';
    issues.push({
      key: `tls.${missing}`,
      problem: `is missing while tls.${missing === 'cert' ? 'key' : 'cert'} is set`,
      fix: 'set both tls.cert and tls.key, or remove tls',
    });
    return null;
  }
  const cert = readPemFile(tls.cert, baseDir, 'certificate');
  const key = readPemFile(tls.key, baseDir, 'private key');
  if (!cert.ok) issues.push({ key: 'tls.cert', problem: cert.problem, fix: cert.fix });
  if (!key.ok) issues.push({ key: 'tls.key', problem: key.problem, fix: key.fix });
  return cert.ok && key.ok ? { cert: cert.pem, key: key.pem } : null;
}

function resolveUpstreams(
  file: ConfigFile,
  context: ResolveContext,
  issues: ConfigIssue[],
): Record<string, UpstreamConfig> {
  // Null prototype: a lookup by an agent-chosen dbname such as "constructor" must not find Object's members.
  const upstreams: Record<string, UpstreamConfig> = Object.create(null);
  for (const [name, entry] of Object.entries(file.upstreams)) {
    const key = `upstreams.${name}`;
    const rawUrl = childOf(childOf(childOf(context.rawTree, 'upstreams'), name), 'url');
    const parsed = parseUpstreamUrl(
      typeof rawUrl === 'string' ? rawUrl : (entry.url ?? ''),
      context.env,
      `${key}.url`,
    );
    if (!parsed.ok) {
      issues.push(...parsed.issues);
      continue;
    }
    const { address } = parsed;
    if (address.password !== null && entry.password !== null) {
      issues.push({
        key: `${key}.password`,
        problem: `is set and ${key}.url carries a password too`,
        fix: 'set the password in one place (this key is preferred)',
      });
    }
    if (entry.password === '') {
      issues.push({
        key: `${key}.password`,
        problem: 'is empty',
        fix: 'set it to the password or remove the key',
      });
    } else if (entry.password === null && address.password === '') {
      issues.push({
        key: `${key}.url`,
        problem: 'has an empty password',
        fix: 'set the variable or drop it from the URL',
      });
    }
    const mode: UpstreamTlsMode =
      entry.tls.mode ?? (entry.tls.ca !== null || !isLoopbackHost(address.host) ? 'verify-full' : 'disable');
    let ca: string | null = null;
    if (entry.tls.ca !== null) {
      if (mode !== 'verify-full') {
        issues.push({
          key: `${key}.tls.ca`,
          problem: `is only used with mode verify-full (mode is ${mode})`,
          fix: `set ${key}.tls.mode: verify-full or remove ca`,
        });
      } else {
        const pem = readPemFile(entry.tls.ca, context.baseDir, 'certificate');
        if (pem.ok) ca = pem.pem;
        else issues.push({ key: `${key}.tls.ca`, problem: pem.problem, fix: pem.fix });
      }
    }
    upstreams[name] = {
      name,
      host: address.host,
      port: address.port,
      database: address.database,
      user: address.user,
      password: entry.password ?? address.password,
      tls: { mode, ca },
      connectTimeoutMs: entry.connect_timeout,
    };
  }
  return upstreams;
}

function resolveRoles(
  file: ConfigFile,
  context: ResolveContext,
  issues: ConfigIssue[],
): Record<string, RoleConfig> {
  const defined = Object.keys(file.upstreams);
  const roles: Record<string, RoleConfig> = Object.create(null);
  const classify = readClassify(childOf(context.tree, 'classify'), issues);
  for (const [name, entry] of Object.entries(file.roles)) {
    const upstream = entry.upstream ?? '';
    if (!defined.includes(upstream)) {
      issues.push({
        key: `roles.${name}.upstream`,
        problem: `${JSON.stringify(upstream)} is not a defined upstream (defined: ${defined.join(', ')})`,
        fix: 'name one of the upstreams or define it under upstreams',
      });
    }
    // Policy keys are read from the tree, not zod's output, so every key (even `__proto__`) stays plain data.
    const rules: Record<string, unknown> = Object.create(null);
    const tree = childOf(childOf(context.tree, 'roles'), name);
    for (const [ruleKey, value] of Object.entries(tree ?? {})) {
      if (ruleKey !== 'upstream') Object.defineProperty(rules, ruleKey, { value, enumerable: true });
    }
    const approval = readApprovalSettings(name, childOf(tree, 'approval'), issues);
    const resolved = resolveRolePolicy(name, rules, approval.destructive);
    if (!resolved.ok) {
      issues.push(...resolved.issues);
      continue;
    }
    const masking = readMaskPolicy(name, childOf(tree, 'mask'), classify, file.masking.hash_key, issues);
    roles[name] = { name, upstream, rules, policy: resolved.policy, masking, approval };
  }
  return roles;
}

/** Checks each auditor's key and keeps only its hash; a key shared by two auditors is refused. */
function resolveAuditors(
  entries: ConfigFile['auditors'],
  issues: ConfigIssue[],
): Record<string, AuditorConfig> {
  return resolveKeyHolders(
    'auditors',
    'each auditor their own key',
    entries,
    (name, entry) => {
      const problem = auditorKeyProblem(entry.key ?? '');
      if (problem === undefined) return hashAuditorKey(entry.key ?? '');
      issues.push({ key: `auditors.${name}.key`, problem, fix: AUDITOR_KEY_FIX });
      return undefined;
    },
    (name, _entry, keySha256) => ({ name, keySha256 }),
    issues,
  );
}

/** Checks each reviewer's key (or key hash) and keeps only its hash; a key shared by two reviewers is refused. */
function resolveReviewers(
  entries: ConfigFile['reviewers'],
  issues: ConfigIssue[],
): Record<string, ReviewerConfig> {
  return resolveKeyHolders(
    'reviewers',
    'each reviewer their own key',
    entries,
    (name, entry) => reviewerKeyHash(name, entry, issues),
    (name, entry, keySha256) => ({ name, keySha256, subjects: Object.freeze([...entry.subjects]) }),
    issues,
  );
}

/**
 * People who authenticate with a bearer key (auditors, reviewers): each entry's key hash from `hashOf`
 * (which reports its own problems), refusing a key two of them share: one key, one person.
 */
function resolveKeyHolders<E, T>(
  section: string,
  give: string,
  entries: Readonly<Record<string, E>>,
  hashOf: (name: string, entry: E) => string | undefined,
  build: (name: string, entry: E, keySha256: string) => T,
  issues: ConfigIssue[],
): Record<string, T> {
  const holders: Record<string, T> = Object.create(null);
  const owners = new Map<string, string>();
  for (const [name, entry] of Object.entries(entries)) {
    const keySha256 = hashOf(name, entry);
    if (keySha256 === undefined) continue;
    const owner = owners.get(keySha256);
    if (owner !== undefined) {
      issues.push({
        key: `${section}.${name}.key`,
        problem: `is the same key as ${section}.${owner}.key`,
        fix: `give ${give} (${AUDITOR_KEY_FIX})`,
      });
      continue;
    }
    owners.set(keySha256, name);
    holders[name] = build(name, entry, keySha256);
  }
  return holders;
}

/** The reviewer's key hash: from `key` (hashed here) or `key_sha256` (exactly one of them). */
function reviewerKeyHash(
  name: string,
  entry: ConfigFile['reviewers'][string],
  issues: ConfigIssue[],
): string | undefined {
  const fix = `write key: \${${name.toUpperCase()}_REVIEW_KEY} (${AUDITOR_KEY_FIX}), or key_sha256: its SHA-256 in hex`;
  if ((entry.key === null) === (entry.key_sha256 === null)) {
    issues.push({
      key: `reviewers.${name}`,
      problem: entry.key === null ? 'has no key' : 'has both key and key_sha256',
      fix,
    });
    return undefined;
  }
  if (entry.key_sha256 !== null) {
    if (!/^[0-9a-f]{64}$/i.test(entry.key_sha256)) {
      issues.push({ key: `reviewers.${name}.key_sha256`, problem: 'is not 64 hex digits', fix });
      return undefined;
    }
    return entry.key_sha256.toLowerCase();
  }
  const problem = auditorKeyProblem(entry.key ?? '');
  if (problem !== undefined) {
    issues.push({ key: `reviewers.${name}.key`, problem, fix: AUDITOR_KEY_FIX });
    return undefined;
  }
  return hashAuditorKey(entry.key ?? '');
}

/** Webhook targets: a JSON receiver must have a secret, so it can tell Airlock's deliveries from forgeries. */
function resolveNotify(entries: ConfigFile['notify'], issues: ConfigIssue[]): NotifyTarget[] {
  const targets: NotifyTarget[] = [];
  entries.forEach((entry, index) => {
    if (entry.format === 'json' && (entry.secret === null || entry.secret.length < 16)) {
      issues.push({
        key: `notify[${index}].secret`,
        problem: entry.secret === null ? 'is required for format json' : 'is shorter than 16 characters',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's ${VAR} syntax, shown to the operator.
        fix: 'add secret: ${HOOK_SECRET}, e.g. the output of: openssl rand -hex 32 (or format: slack)',
      });
      return;
    }
    targets.push({ url: entry.url ?? '', secret: entry.secret, format: entry.format });
  });
  return targets;
}

/** `approvals.public_url` without a trailing slash; an http(s) URL with no query or fragment. */
function resolvePublicUrl(value: string | null, issues: ConfigIssue[]): string | null {
  if (value === null) return null;
  const fix = 'write the base URL reviewers use, e.g. https://airlock.example.com';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    issues.push({ key: 'approvals.public_url', problem: 'is not a URL', fix });
    return null;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '') {
    issues.push({ key: 'approvals.public_url', problem: 'is not a plain http(s) URL', fix });
    return null;
  }
  return value.replace(/\/+$/, '');
}

function childOf(node: unknown, key: string): unknown {
  if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
  return (node as Record<string, unknown>)[key];
}
