/**
 * `airlock demo`: one process with an embedded PostgreSQL (PGlite) seeded with a shop, the gateway in
 * front of it, and a freshly issued token printed as a ready-to-paste psql command.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { ApprovalDesk } from '../approvals/approval-desk.js';
import { openApprovalDesk } from '../approvals/open-approval-desk.js';
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

/** The demo's reviewer: who approves held statements, and their key (printed once, stored only hashed). */
export const DEMO_REVIEWER = 'demo-reviewer';

export interface RunningDemo {
  readonly connection: ConnectionInfo;
  readonly configPath: string;
  /** The demo reviewer's key, for `AIRLOCK_REVIEWER_KEY`. */
  readonly reviewerKey: string;
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
    const reviewerKey = randomBytes(24).toString('hex');
    const reviewerKeySha256 = createHash('sha256').update(reviewerKey).digest('hex');
    writeFileSync(configPath, demoConfigYaml(database, port, httpPort, options.logLevel, reviewerKeySha256), {
      mode: 0o600,
    });
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
      demoConfigYaml(
        database,
        gateway.postgres.port,
        gateway.http?.port ?? httpPort,
        options.logLevel,
        reviewerKeySha256,
      ),
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
    printBanner(options.out, connection, configPath, gateway, reviewerKey);
    const runningStore = store;
    const runningAudit = audit;
    const runningGateway = gateway;
    // The reviewers' desk as `airlock approvals` uses it: decisions go through the store.
    const desk = openApprovalDesk({ store, config, audit, now: Date.now });
    return {
      connection,
      configPath,
      reviewerKey,
      selfCheck: () => selfCheck(connection, runningStore, desk),
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

function demoConfigYaml(
  db: EmbeddedPostgres,
  port: number,
  httpPort: number,
  logLevel: string,
  reviewerKeySha256: string,
): string {
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
    approval: { timeout: 15m }  # held statements wait this long for a reviewer (docs/approvals.md)
classify:
  public.customers.ssn: ssn
  public.customers.card_number: credit_card
reviewers:                    # who may approve held statements; the key is printed by the demo, kept hashed here
  ${DEMO_REVIEWER}: { key_sha256: ${reviewerKeySha256} }
${httpPort === 0 ? '' : `approvals:\n  public_url: http://127.0.0.1:${httpPort}\n`}log:
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
  /** A held DELETE: its request id, whether the agent waited until it was approved, and its command tag. */
  readonly approval: {
    readonly id: string | null;
    readonly heldUntilApproved: boolean;
    readonly ran: string | null;
  };
}

async function selfCheck(info: ConnectionInfo, store: Store, desk: ApprovalDesk): Promise<SelfCheck> {
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
    const approval = await approvalCheck(client, desk);
    return { ...res.rows[0]!, auditSeq: recorded.events[0]?.seq ?? null, masked: sample.rows[0]!, approval };
  } finally {
    await client.end();
  }
}

/** Sends a DELETE the role must have approved, approves it as the demo reviewer, and sees it run. */
async function approvalCheck(client: pg.Client, desk: ApprovalDesk): Promise<SelfCheck['approval']> {
  let id: string | null = null;
  const noticed = new Promise<void>((resolve) => {
    client.on('notice', (notice) => {
      id ??= /request (apr_[a-z2-7]+)/.exec(notice.message ?? '')?.[1] ?? null;
      if (id !== null) resolve();
    });
  });
  let finished = false;
  // The last order (its items go with it: ON DELETE CASCADE); the demo database lives only as long as the demo.
  const running = client.query('delete from orders where id = (select max(id) from orders)').finally(() => {
    finished = true;
  });
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
  await Promise.race([noticed, timeout]);
  if (id === null) return { id, heldUntilApproved: false, ran: null };
  const heldUntilApproved = !finished;
  const decision = await desk.decide(id, DEMO_REVIEWER, 'approve', 'demo self-check');
  if (!decision.ok) return { id, heldUntilApproved, ran: null };
  const result = await running;
  return { id, heldUntilApproved, ran: `${result.command} ${result.rowCount}` };
}

function printBanner(
  out: NodeJS.WritableStream,
  info: ConnectionInfo,
  configPath: string,
  gw: RunningGateway,
  reviewerKey: string,
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
       delete from orders where id = 1;                -- held until a human approves it (below)
       update customers set email = 'x' where id = 1;  -- refused: the role may not write customers
       select pg_read_file('/etc/passwd');             -- refused: not an allowed function

A held statement waits inside the session; psql shows its request id. Approve or deny it from
another terminal as the demo reviewer (its key is shown only here):
  export AIRLOCK_REVIEWER_KEY=${reviewerKey}
  npm run airlock -- approvals list --config ${rel}
  npm run airlock -- approvals approve <apr_…> --reviewer ${DEMO_REVIEWER} --config ${rel}
  npm run airlock -- approvals deny <apr_…> --reviewer ${DEMO_REVIEWER} --reason "not now" --config ${rel}

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
