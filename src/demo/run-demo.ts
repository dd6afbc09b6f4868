/**
 * `airlock demo`: one process with an embedded PostgreSQL (PGlite) seeded with a shop, the gateway in
 * front of it, and a freshly issued token printed as a ready-to-paste psql command.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { AuditLog } from '../audit/audit-log.js';
import { openAuditLog } from '../audit/open-audit-log.js';
import { loadConfigFile } from '../config/load-config.js';
import { buildConnectionInfo, type ConnectionInfo } from '../identity/connection-info.js';
import { issueToken } from '../identity/issue-token.js';
import { type RunningGateway, startGateway } from '../main.js';
import { createLogger } from '../observability/logger.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.js';

export interface DemoOptions {
  /** Folder for the demo's config and token store (so `airlock token …` can use them too). */
  readonly dir: string;
  /** Preferred gateway port; a busy port falls back to a free one. */
  readonly port: number;
  readonly httpPort: number;
  readonly logLevel: string;
  readonly out: NodeJS.WritableStream;
}

export interface RunningDemo {
  readonly connection: ConnectionInfo;
  readonly configPath: string;
  /**
   * Runs a query through the gateway with the demo token and finds its record in the audit trail:
   * proof the path works end to end.
   */
  selfCheck(): Promise<SelfCheck>;
  close(): Promise<void>;
}

/** Starts the embedded database and the gateway, issues a token and prints how to connect. */
export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const database = await startEmbeddedPostgres();
  let store: Store | null = null;
  let audit: AuditLog | null = null;
  let gateway: RunningGateway | null = null;
  try {
    mkdirSync(options.dir, { recursive: true });
    const port = (await isPortFree(options.port)) ? options.port : 0;
    const httpPort = (await isPortFree(options.httpPort)) ? options.httpPort : 0;
    const configPath = path.join(options.dir, 'airlock.yaml');
    writeFileSync(configPath, demoConfigYaml(database, port, httpPort, options.logLevel), { mode: 0o600 });
    const config = loadConfigFile(configPath);
    store = openStore(config.store);
    // The same audit as `airlock serve`: every statement is recorded before it runs.
    audit = openAuditLog(config, store, { mode: 'gateway' }).log;
    gateway = await startGateway({
      config,
      store,
      audit,
      logger: createLogger(config.log.level, process.stderr),
    });
    // Rewrite the file with the ports actually bound, so `airlock token issue --config` prints them.
    writeFileSync(
      configPath,
      demoConfigYaml(database, gateway.postgres.port, gateway.http?.port ?? httpPort, options.logLevel),
    );
    const issued = await issueToken(
      { store, config, now: Date.now },
      {
        role: 'reporting',
        subject: 'demo@airlock.local',
        reason: 'trying out airlock',
        ttlMs: 60 * 60 * 1000,
      },
    );
    const connection = buildConnectionInfo(issued, gateway.postgres);
    printBanner(options.out, connection, configPath, gateway);
    const runningStore = store;
    const runningAudit = audit;
    const runningGateway = gateway;
    return {
      connection,
      configPath,
      selfCheck: () => selfCheck(connection, runningStore),
      close: async () => {
        await runningGateway.close(2000);
        await runningAudit.close();
        await runningStore.close();
        await database.close();
      },
    };
  } catch (error) {
    await gateway?.close(0);
    await audit?.close().catch(() => {});
    await store?.close();
    await database.close();
    throw error;
  }
}

function demoConfigYaml(db: EmbeddedPostgres, port: number, httpPort: number, logLevel: string): string {
  return `# Written by \`airlock demo\`; the embedded PGlite database is the upstream.
listen:
  postgres: 127.0.0.1:${port}
  http: 127.0.0.1:${httpPort}
store: sqlite:./airlock.db
upstreams:
  shop:
    url: postgres://${db.user}@${db.host}:${db.port}/${db.database}
    tls: disable
roles:
  reporting:                  # what the demo agent may do; everything else is refused
    upstream: shop
    search_path: [public]
    allow:
      - tables: [public.customers, public.orders, public.order_items]
        operations: [select]
    approve:
      - tables: [public.orders]
        operations: [update, delete]
    deny:
      - tables: [public.secrets]
    functions: [public.order_total]
    mask:                     # personal data leaves the gateway masked (docs/masking.md)
      - columns: [public.customers.email, public.customers.phone]
        strategy: partial
      - classes: [ssn, credit_card]        # the classified columns below, and those found in any text
        strategy: redact
      - classes: [email, phone, iban, jwt, api_key]
        strategy: redact
classify:
  public.customers.ssn: ssn
  public.customers.card_number: credit_card
log:
  level: ${logLevel}
`;
}

const SELF_CHECK_SQL =
  'select (select count(*) from customers)::int as customers, (select count(*) from orders)::int as orders';

/** What `airlock demo --check` reports: counts through the gateway, the audit record, a masked row. */
export interface SelfCheck {
  readonly customers: number;
  readonly orders: number;
  readonly auditSeq: number | null;
  /** The first customer's email and SSN as the agent receives them. */
  readonly masked: { readonly email: string; readonly ssn: string };
}

async function selfCheck(info: ConnectionInfo, store: Store): Promise<SelfCheck> {
  const client = new pg.Client({
    host: info.host,
    port: info.port,
    user: info.user,
    password: info.password,
    database: info.database,
  });
  await client.connect();
  try {
    const res = await client.query<{ customers: number; orders: number }>(SELF_CHECK_SQL);
    // Write-ahead: the record was committed before the query reached the database.
    const recorded = await store.searchAudit({
      kinds: ['statement.decided'],
      tokenId: info.tokenId,
      text: SELF_CHECK_SQL,
      limit: 1,
      order: 'newest',
    });
    const sample = await client.query<{ email: string; ssn: string }>(
      'select email, ssn from customers order by id limit 1',
    );
    return { ...res.rows[0]!, auditSeq: recorded.events[0]?.seq ?? null, masked: sample.rows[0]! };
  } finally {
    await client.end();
  }
}

function printBanner(
  out: NodeJS.WritableStream,
  info: ConnectionInfo,
  configPath: string,
  gw: RunningGateway,
): void {
  const rel = path.relative(process.cwd(), configPath);
  out.write(`
Airlock demo is running.

  embedded PostgreSQL (PGlite) with a shop: customers, orders, order_items, secrets
  gateway   postgres://${info.host}:${info.port}   http://${gw.http?.host}:${gw.http?.port}/metrics

Connect as the agent (token ${info.tokenId}, role ${info.role}, expires ${info.expiresAt}):

  ${info.psql}

Try:   select * from customers limit 5;                -- email, phone, ssn and card come back masked
       select lower(email) as e from customers limit 3; -- an expression over a masked column is masked too
       select id from customers where ssn like '9%';   -- refused: masked SSNs may not be used to filter
       select status, count(*), sum(order_total(id)) from orders group by status;
       select * from secrets;                          -- refused: denied by the role
       delete from orders where id = 1;                -- refused: needs human approval
       update customers set email = 'x' where id = 1;  -- refused: the role may only read
       select pg_read_file('/etc/passwd');             -- refused: not an allowed function

The policy is in ${rel}; to see why a statement is allowed or refused:
  npm run airlock -- policy check --config ${rel} --role reporting "delete from orders"

Audit trail (every statement, recorded before it runs; hash-chained and signed):
  npm run airlock -- audit search --config ${rel} --limit 20
  npm run airlock -- audit verify --config ${rel}

More tokens:   npm run airlock -- token issue --config ${rel} --role reporting --subject you --reason "why"
List/revoke:   npm run airlock -- token list --config ${rel}
               npm run airlock -- token revoke <tokenId> --config ${rel}

Press Ctrl-C to stop.
`);
}

function isPortFree(port: number): Promise<boolean> {
  if (port === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
