/**
 * Starts an Airlock gateway on port 0 in front of a RealPostgres, configured through the real YAML
 * loader, with a captured log, and issues tokens for tests.
 */
import { Writable } from 'node:stream';
import type { ClientConfig } from 'pg';
import { AuditLog } from '../../src/audit/audit-log.js';
import type { AirlockConfig } from '../../src/config/config-types.js';
import { parseConfigText } from '../../src/config/load-config.js';
import { type IssuedToken, issueToken } from '../../src/identity/issue-token.js';
import { type RunningGateway, startGateway } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { createPolicyGuard } from '../../src/policy/policy-guard.js';
import { allowAllGuard, type Guard, type GuardBatch, type GuardVerdict } from '../../src/proxy/guard.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import type { RealPostgres } from './real-postgres.js';

/** A Guard whose sessions all decide batches with `check` (for tests of the guard seam). */
export function guardFromBatchCheck(
  check: (batch: GuardBatch) => GuardVerdict | Promise<GuardVerdict>,
): Guard {
  return { openSession: () => ({ upstreamParameters: {}, checkBatch: check, close: () => {} }) };
}

/**
 * The `audit` option for a chain `instance` signed with `privateKeyPem`, committed inline on the
 * gateway's store (or on `wrap(store)`, e.g. a store that can be made to fail).
 */
export function auditLogOn(
  instance: string,
  privateKeyPem: string,
  wrap: (store: Store) => Store = (store) => store,
): (store: SqliteStore) => AuditLog {
  return (store) =>
    new AuditLog({ store: wrap(store), instance, privateKeyPem, checkpointEvery: 1000, now: Date.now });
}

/** Which of RealPostgres's users the gateway uses upstream (one per auth method). */
export type UpstreamUserKind = 'scram' | 'md5' | 'trust' | 'cleartext' | 'tls';

export interface TestGatewayOptions {
  readonly upstreamUser?: UpstreamUserKind;
  /** YAML appended at the top level (e.g. `tls:` or `limits:` blocks). */
  readonly extraYaml?: string;
  /** Replaces the upstream `tls:` value (default disable). */
  readonly upstreamTls?: string;
  /** Files referenced by extraYaml are resolved from here. */
  readonly baseDir?: string;
  /** Default: allowAllGuard — these suites test the protocol layer; see `policy` for the real one. */
  readonly guard?: Guard;
  /** Enforce the roles' policy from the config (the guard `airlock serve` uses). */
  readonly policy?: boolean;
  /**
   * YAML lines of the `roles:` block (indented by two spaces), replacing the default roles
   * `reporting` (upstream shop) and `other` (upstream other).
   */
  readonly rolesYaml?: string;
  readonly now?: () => number;
  /** Point the upstream at another port (e.g. a closed one). */
  readonly upstreamPort?: number;
  /** Builds the audit log the gateway records to, on the gateway's store (default: none, nothing recorded). */
  readonly audit?: (store: SqliteStore) => AuditLog;
}

export interface TestGateway {
  readonly host: string;
  readonly port: number;
  readonly httpPort: number;
  readonly config: AirlockConfig;
  readonly store: SqliteStore;
  readonly gateway: RunningGateway;
  /** Every JSON log line the gateway wrote. */
  readonly logs: string[];
  issue(options?: { role?: string; ttlMs?: number; subject?: string; reason?: string }): Promise<IssuedToken>;
  /** node-postgres settings for a token (database defaults to the token's upstream). */
  pgConfig(token: IssuedToken, database?: string): ClientConfig;
  /** postgres:// URL for a token. */
  url(token: IssuedToken, database?: string): string;
  /** Environment for psql/pgbench connecting through the gateway with this token. */
  env(token: IssuedToken, database?: string): NodeJS.ProcessEnv;
  close(graceMs?: number): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a gateway with upstream `shop` (the cluster's shop database) and roles `reporting` and `other`. */
export async function startTestGateway(
  pg: RealPostgres,
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  const kind = options.upstreamUser ?? 'scram';
  const user = pg.users[kind];
  const password = 'password' in user ? user.password : null;
  const yaml = [
    'listen:',
    '  postgres: 127.0.0.1:0',
    '  http: 127.0.0.1:0',
    'store: "sqlite::memory:"',
    'upstreams:',
    '  shop:',
    `    url: postgres://${user.user}@127.0.0.1:${options.upstreamPort ?? pg.port}/shop`,
    ...(password === null ? [] : [`    password: \${UPSTREAM_PASSWORD}`]),
    `    tls: ${options.upstreamTls ?? 'disable'}`,
    '    connect_timeout: 5s',
    '  other:',
    `    url: postgres://${user.user}@127.0.0.1:${options.upstreamPort ?? pg.port}/shop`,
    ...(password === null ? [] : [`    password: \${UPSTREAM_PASSWORD}`]),
    `    tls: ${options.upstreamTls ?? 'disable'}`,
    'roles:',
    options.rolesYaml ?? ['  reporting:', '    upstream: shop', '  other:', '    upstream: other'].join('\n'),
    'log:',
    '  level: debug',
    options.extraYaml ?? '',
  ].join('\n');
  const config = parseConfigText(yaml, {
    baseDir: options.baseDir ?? process.cwd(),
    source: null,
    env: { UPSTREAM_PASSWORD: password ?? '' },
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(line);
      callback();
    },
  });
  const store = new SqliteStore(':memory:');
  const now = options.now ?? Date.now;
  const audit = options.audit?.(store);
  const gateway = await startGateway({
    config,
    store,
    logger: createLogger('debug', sink),
    now,
    guard: options.guard ?? (options.policy ? createPolicyGuard(config) : allowAllGuard),
    ...(audit === undefined ? {} : { audit }),
  });
  const host = '127.0.0.1';
  const port = gateway.postgres.port;
  const close = async (graceMs = 2000) => {
    await gateway.close(graceMs);
    await store.close();
  };
  return {
    host,
    port,
    httpPort: gateway.http?.port ?? 0,
    config,
    store,
    gateway,
    logs,
    issue: (o = {}) =>
      issueToken(
        { store, config, now },
        {
          role: o.role ?? 'reporting',
          subject: o.subject ?? 'test-agent',
          reason: o.reason ?? 'e2e test',
          ...(o.ttlMs !== undefined ? { ttlMs: o.ttlMs } : {}),
        },
      ),
    pgConfig: (token, database) => ({
      host,
      port,
      user: token.tokenId,
      password: token.secret,
      database: database ?? token.upstream,
    }),
    url: (token, database) =>
      `postgres://${token.tokenId}:${encodeURIComponent(token.secret)}@${host}:${port}/${database ?? token.upstream}`,
    env: (token, database) => ({
      ...pg.psqlEnv(),
      PGHOST: host,
      PGPORT: String(port),
      PGUSER: token.tokenId,
      PGPASSWORD: token.secret,
      PGDATABASE: database ?? token.upstream,
      PGSSLMODE: 'disable',
    }),
    close,
    [Symbol.asyncDispose]: () => close(),
  };
}
