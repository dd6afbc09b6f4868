/**
 * A held statement never outlives its gateway: `airlock serve` is killed with SIGKILL while an agent's
 * DELETE waits for approval; restarted on the same store, the gateway marks the request `abandoned`
 * before it takes agents (audited, and told to the webhooks), a late approval is refused, and the
 * statement never runs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/approvals/notify/webhook-signature.js';
import { openApprovalDesk } from '../../src/approvals/open-approval-desk.js';
import type { AuditRecorder } from '../../src/audit/audited-guard.js';
import type { AirlockConfig } from '../../src/config/config-types.js';
import { loadConfigFile } from '../../src/config/load-config.js';
import { issueToken } from '../../src/identity/issue-token.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { type ServeProcess, serveConfigHead, startAirlockServe } from '../helpers/airlock-serve.js';
import { approvalIdIn, failure, ordersApprovalRole, sleep, withTimeout } from '../helpers/held-statement.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { superuserClient } from '../helpers/superuser-client.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const INSTANCE = 'approvals-restart';
const HOOK_SECRET = 'restart-hook-secret-0123456789abcdef';

/** A NoticeResponse as node-postgres hands it over. */
type AgentNotice = { readonly message?: string };

describe('a held statement across a crash of the gateway', () => {
  let db: RealPostgres;
  let admin: pg.Client;
  let hooks: WebhookReceiver;
  let workDir: string;
  let configPath: string;
  let config: AirlockConfig;
  const serves: ServeProcess[] = [];
  const agents: pg.Client[] = [];
  const env = () => ({ SHOP_DB_PASSWORD: db.users.scram.password, BOB_REVIEW_KEY: 'b'.repeat(40) });

  beforeAll(async () => {
    [db, workDir, hooks] = await Promise.all([
      startRealPostgres(),
      mkdtemp(path.join(os.tmpdir(), 'airlock-approvals-restart-e2e-')),
      startWebhookReceiver(),
    ]);
    admin = await superuserClient(
      db,
      `
      create table public.orders (id int primary key, status text);
      grant all on public.orders to public;
      insert into public.orders select g, 'open' from generate_series(1, 10) g;
    `,
    );
    configPath = path.join(workDir, 'airlock.yaml');
    await writeFile(
      configPath,
      [
        ...serveConfigHead(db),
        'roles:',
        ...ordersApprovalRole('operator', ['select'], '{ timeout: 10m }'),
        'audit:',
        `  instance: ${INSTANCE}`,
        'reviewers:',
        '  bob:',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} is the config loader's env substitution.
        '    key: ${BOB_REVIEW_KEY}',
        'notify:',
        `  - url: ${hooks.url}`,
        `    secret: ${HOOK_SECRET}`,
        'approvals:',
        '  poll: 50ms',
        'shutdown:',
        '  grace: 500ms',
        'log:',
        '  level: info',
        '',
      ].join('\n'),
    );
    config = loadConfigFile(configPath, env());
  });

  afterAll(async () => {
    for (const agent of agents) await agent.end().catch(() => {});
    for (const serve of serves) await serve.stop('SIGKILL');
    await admin?.end();
    await hooks?.close();
    await db?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  async function serve(): Promise<ServeProcess> {
    const started = await startAirlockServe(configPath, env());
    serves.push(started);
    return started;
  }

  /** Runs `use` on the store file the gateway uses, opened by this process (as the CLI opens it). */
  async function withStore<T>(use: (store: Store) => Promise<T>): Promise<T> {
    const store = openStore(config.store);
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  }

  const orderCount = async () =>
    (await admin.query('select count(*)::int as n from public.orders')).rows[0].n as number;

  it('SIGKILL while a DELETE waits: the restart abandons the request, a late approval is refused, nothing runs', async () => {
    const token = await withStore((store) =>
      issueToken(
        { store, config, now: Date.now },
        { role: 'operator', subject: 'agent-ci', reason: 'PR #31: drop stale orders' },
      ),
    );

    // ---- held in the first gateway ---------------------------------------------------------------
    const first = await serve();
    const agent = new pg.Client({
      host: '127.0.0.1',
      port: first.postgresPort,
      user: token.tokenId,
      password: token.secret,
      database: token.upstream,
    });
    // The kill ends the connection outside a query too; that is expected here.
    agent.on('error', () => {});
    agents.push(agent);
    const notices: AgentNotice[] = [];
    agent.on('notice', (notice) => notices.push(notice));
    await agent.connect();
    const lost = failure(agent.query('delete from public.orders where id <= 4'));
    await expect.poll(() => approvalIdIn(notices[0]?.message), { timeout: 5000 }).toBeDefined();
    const id = approvalIdIn(notices[0]?.message)!;
    await hooks.waitFor((d) => d.body?.event === 'approval.requested' && d.body.request.id === id);

    // ---- SIGKILL: the agent loses its connection, the request is left pending in the store -----
    expect(await first.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await withTimeout(lost, 5000, 'the agent noticing the kill')).toBeInstanceOf(Error);
    expect((await withStore((store) => store.getApproval(id)))?.status).toBe('pending');
    expect(await orderCount()).toBe(10);

    // ---- restart on the same store: abandoned before the gateway is ready ------------------------
    const second = await serve();
    const request = await withStore((store) => store.getApproval(id));
    expect(request).toMatchObject({ id, status: 'abandoned', instance: INSTANCE });
    expect(request?.outcome).toMatch(/restarted/);
    expect(request?.decidedAt).not.toBeNull();
    const warned = second.stdoutLines.some((line) => {
      const entry = JSON.parse(line) as { msg?: string; abandoned?: number };
      return /abandoned/.test(entry.msg ?? '') && entry.abandoned === 1;
    });
    expect(warned, second.stdoutLines.join('\n')).toBe(true);

    const events = (await withStore((store) => store.readAudit({ instance: INSTANCE }))).events;
    const requested = events.find((e) => e.kind === 'approval.requested' && e.what?.approvalId === id);
    const abandoned = events.find((e) => e.kind === 'approval.decided' && e.what?.approvalId === id);
    expect(requested).toBeDefined();
    expect(abandoned?.what).toMatchObject({ approvalId: id, status: 'abandoned' });
    expect(abandoned!.seq).toBeGreaterThan(requested!.seq);
    // What was held never ran: no statement event for it at all.
    expect(events.filter((e) => e.kind === 'statement.decided' && e.what?.approvalId === id)).toEqual([]);

    // The webhooks hear of it as a decision, signed like every delivery.
    const decided = await hooks.waitFor(
      (d) => d.body?.event === 'approval.decided' && d.body.request.id === id,
    );
    expect(decided.body?.request.status).toBe('abandoned');
    const signature = decided.headers['x-airlock-signature'] as string;
    expect(verifyWebhookSignature(HOOK_SECRET, signature, decided.rawBody, Date.now() / 1000)).toBe(true);

    // ---- a late approval through the desk is refused ---------------------------------------------
    const recorded: unknown[] = [];
    const audit: AuditRecorder = {
      record: async (body) => {
        recorded.push(body);
        return { seq: 0 };
      },
    };
    const late = await withStore((store) =>
      openApprovalDesk({ store, config, audit, now: Date.now }).decide(id, 'bob', 'approve', 'late but ok'),
    );
    expect(late).toMatchObject({ ok: false, problem: 'not-pending' });
    expect(recorded).toEqual([]);
    expect((await withStore((store) => store.getApproval(id)))?.status).toBe('abandoned');

    // ---- the table is unchanged, also after the new gateway had time to act ----------------------
    await sleep(300);
    expect(await orderCount()).toBe(10);

    // The same agent sending the statement again asks anew: a new request, pending, still nothing ran.
    const again = new pg.Client({
      host: '127.0.0.1',
      port: second.postgresPort,
      user: token.tokenId,
      password: token.secret,
      database: token.upstream,
    });
    again.on('error', () => {});
    agents.push(again);
    const againNotices: AgentNotice[] = [];
    again.on('notice', (notice) => againNotices.push(notice));
    await again.connect();
    const retried = failure(again.query('delete from public.orders where id <= 4'));
    await expect.poll(() => approvalIdIn(againNotices[0]?.message), { timeout: 5000 }).toBeDefined();
    const secondId = approvalIdIn(againNotices[0]?.message)!;
    expect(secondId).not.toBe(id);
    expect((await withStore((store) => store.getApproval(secondId)))?.status).toBe('pending');
    await again.end();
    expect(await withTimeout(retried, 5000, 'the retried statement after disconnect')).toBeInstanceOf(Error);
    await expect
      .poll(async () => (await withStore((store) => store.getApproval(secondId)))?.status, { timeout: 5000 })
      .toBe('withdrawn');
    expect(await orderCount()).toBe(10);

    expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(second.stderr()).toBe('');
  }, 60_000);
});
