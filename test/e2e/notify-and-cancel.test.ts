/**
 * Asynchronous traffic through the gateway: LISTEN/NOTIFY from other sessions, NOTICE, ParameterStatus,
 * and query cancellation (postgres.js, psql on SIGINT, a raw CancelRequest with right and wrong keys),
 * checked against pg_stat_activity on the cluster.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the first value `next` yields that `accept` takes, or rejects after `ms`. */
function waitFor<T>(
  subscribe: (push: (value: T) => void) => void,
  accept: (value: T) => boolean,
  ms = 5_000,
) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing arrived within ${ms} ms`)), ms);
    subscribe((value) => {
      if (accept(value)) {
        clearTimeout(timer);
        resolve(value);
      }
    });
  });
}

/** A CancelRequest sent to the gateway as a client library would (16 bytes on a fresh connection). */
function sendCancelRequest(port: number, processId: number, secretKey: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      const packet = Buffer.alloc(16);
      packet.writeInt32BE(16, 0);
      packet.writeInt32BE(80877102, 4);
      packet.writeInt32BE(processId, 8);
      packet.writeInt32BE(secretKey, 12);
      socket.end(packet);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

interface KeyedClient {
  readonly processID: number;
  readonly secretKey: number;
}

describe('notifications, notices, parameter status and cancel through the gateway', () => {
  let db: RealPostgres;
  let gw: TestGateway;
  let superuser: pg.Client;

  /** Backends of the gateway's upstream role currently running `pg_sleep`. */
  async function sleepingBackends(): Promise<number> {
    const result = await superuser.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity
        where usename = $1 and state = 'active' and query like '%pg_sleep%' and pid <> pg_backend_pid()`,
      [db.users.scram.user],
    );
    return result.rows[0]?.n ?? -1;
  }
  async function untilNoSleepingBackends(ms = 3_000): Promise<number> {
    const deadline = Date.now() + ms;
    let n = await sleepingBackends();
    while (n > 0 && Date.now() < deadline) {
      await sleep(50);
      n = await sleepingBackends();
    }
    return n;
  }
  async function untilSleeping(ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    while ((await sleepingBackends()) === 0) {
      if (Date.now() > deadline) throw new Error('pg_sleep never started upstream');
      await sleep(20);
    }
  }

  beforeAll(async () => {
    db = await startRealPostgres();
    gw = await startTestGateway(db);
    superuser = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: db.database });
    await superuser.connect();
  });
  afterAll(async () => {
    await superuser?.end();
    await gw?.close();
    await db?.stop();
  });

  it('a listener behind the gateway gets notifications from gateway and direct sessions, with payloads', async () => {
    const listener = new pg.Client(gw.pgConfig(await gw.issue()));
    await listener.connect();
    const notifier = new pg.Client(gw.pgConfig(await gw.issue()));
    await notifier.connect();
    try {
      const received: pg.Notification[] = [];
      const subscribers: ((n: pg.Notification) => void)[] = [];
      listener.on('notification', (n) => {
        received.push(n);
        for (const s of subscribers) s(n);
      });
      await listener.query('listen orders');
      await listener.query('listen "Mixed Case"');

      const fromGateway = waitFor<pg.Notification>(
        (push) => subscribers.push(push),
        (n) => n.payload === 'via gateway',
      );
      await notifier.query("select pg_notify('orders', 'via gateway')");
      expect(await fromGateway).toMatchObject({ channel: 'orders', payload: 'via gateway' });

      const fromDirect = waitFor<pg.Notification>(
        (push) => subscribers.push(push),
        (n) => n.channel === 'Mixed Case',
      );
      const payload = `direct ✓ ${'x'.repeat(2000)}`;
      await superuser.query(`notify "Mixed Case", '${payload}'`);
      expect(await fromDirect).toMatchObject({ channel: 'Mixed Case', payload });

      // A notification sent inside a transaction arrives only at commit, and only once.
      await notifier.query('begin');
      await notifier.query("notify orders, 'in tx'");
      await sleep(200);
      expect(received.some((n) => n.payload === 'in tx')).toBe(false);
      const committed = waitFor<pg.Notification>(
        (push) => subscribers.push(push),
        (n) => n.payload === 'in tx',
      );
      await notifier.query('commit');
      await committed;
      // The listener, idle all along, still answers queries normally.
      expect((await listener.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      expect(received.filter((n) => n.payload === 'in tx')).toHaveLength(1);
      await listener.query('unlisten *');
    } finally {
      await listener.end();
      await notifier.end();
    }
  });

  it('postgres.js listen() through the gateway receives notifications', async () => {
    const sql = postgres(gw.url(await gw.issue()), { max: 2, onnotice: () => {} });
    try {
      const payloads: string[] = [];
      let third: () => void = () => {};
      const gotThird = new Promise<void>((resolve) => {
        third = resolve;
      });
      // listen() resolves once LISTEN has run on the connection it keeps for notifications.
      await sql.listen('jobs', (payload) => {
        payloads.push(payload);
        if (payload === 'third') third();
      });
      for (const p of ['first', 'second', 'third'])
        await superuser.query('select pg_notify($1, $2)', ['jobs', p]);
      await gotThird;
      expect(payloads).toEqual(['first', 'second', 'third']);
      // The other connection of the pool keeps working alongside.
      expect(await sql`select ${'ok'}::text as s`).toEqual([{ s: 'ok' }]);
    } finally {
      await sql.end();
    }
  });

  it('a session can recognise its own notifications by the process id it was given', async () => {
    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    await client.connect();
    try {
      const own = waitFor<pg.Notification>(
        (push) => client.on('notification', push),
        () => true,
      );
      await client.query('listen self_check');
      await client.query("notify self_check, 'mine'");
      // libpq documents comparing be_pid with PQbackendPID (BackendKeyData) to spot self-notifications.
      expect((await own).processId).toBe((client as unknown as KeyedClient).processID);
    } finally {
      await client.end();
    }
  });

  it('NOTICE messages reach node-postgres and postgres.js', async () => {
    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    await client.connect();
    const notices: string[] = [];
    const sqlNotices: string[] = [];
    const sql = postgres(gw.url(await gw.issue()), {
      max: 1,
      onnotice: (n) => sqlNotices.push(String(n.message)),
    });
    try {
      client.on('notice', (n) => notices.push(`${n.severity}: ${n.message}`));
      await client.query("DO $$ BEGIN RAISE NOTICE 'hi'; END $$");
      await client.query("DO $$ BEGIN RAISE WARNING 'careful %', 42; RAISE NOTICE 'second'; END $$");
      await client.query('drop table if exists never_existed_notice_table');
      expect(notices).toEqual([
        'NOTICE: hi',
        'WARNING: careful 42',
        'NOTICE: second',
        'NOTICE: table "never_existed_notice_table" does not exist, skipping',
      ]);
      await sql`DO $$ BEGIN RAISE NOTICE 'from postgres.js'; END $$`;
      // The same notice arriving in an extended-protocol batch.
      await sql`drop table if exists never_existed_notice_table`;
      expect(sqlNotices).toEqual([
        'from postgres.js',
        'table "never_existed_notice_table" does not exist, skipping',
      ]);
    } finally {
      await client.end();
      await sql.end();
    }
  });

  it('ParameterStatus after SET reaches the client, and SHOW agrees', async () => {
    const token = await gw.issue();
    const client = new pg.Client({ ...gw.pgConfig(token), application_name: 'agent-start' });
    const statuses: { parameterName: string; parameterValue: string }[] = [];
    client.connection.on('parameterStatus', (m: { parameterName: string; parameterValue: string }) =>
      statuses.push({ parameterName: m.parameterName, parameterValue: m.parameterValue }),
    );
    await client.connect();
    try {
      // The gateway opens the upstream session labelled with the token, then the agent's own label.
      expect(statuses).toContainEqual({
        parameterName: 'application_name',
        parameterValue: `airlock:${token.tokenId} agent-start`,
      });
      statuses.length = 0;
      await client.query("set application_name = 'renamed-agent'");
      expect(statuses).toEqual([{ parameterName: 'application_name', parameterValue: 'renamed-agent' }]);
      expect((await client.query('show application_name')).rows).toEqual([
        { application_name: 'renamed-agent' },
      ]);
      await client.query("set timezone = 'Asia/Tokyo'");
      expect(statuses).toContainEqual({ parameterName: 'TimeZone', parameterValue: 'Asia/Tokyo' });
      // A SET rolled back reports the old value again.
      statuses.length = 0;
      await client.query('begin');
      await client.query("set application_name = 'temporary'");
      await client.query('rollback');
      expect(statuses.map((s) => s.parameterValue)).toEqual(['temporary', 'renamed-agent']);
      const upstream = await superuser.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where application_name = 'renamed-agent'",
      );
      expect(upstream.rows).toEqual([{ n: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('postgres.js cancel() stops pg_sleep(30) upstream quickly and the session carries on', async () => {
    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    try {
      const query = sql`select pg_sleep(30)`;
      const outcome = query.then(
        () => null,
        (error: { code?: string }) => error,
      );
      await untilSleeping();
      const cancelledAt = Date.now();
      query.cancel();
      const error = await outcome;
      expect(error).toMatchObject({ code: '57014' });
      expect(Date.now() - cancelledAt).toBeLessThan(2_000);
      expect(await untilNoSleepingBackends()).toBe(0);
      expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
    } finally {
      await sql.end();
    }
  });

  it('postgres.js cancel() also stops a statement it runs as a cursor (Execute with a row limit + Flush)', async () => {
    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    try {
      const query = sql`select pg_sleep(30)`;
      const outcome = (async () => {
        for await (const _rows of query.cursor(10)) {
          // no rows before the sleep ends
        }
        return null;
      })().catch((error: { code?: string }) => error);
      await untilSleeping();
      const cancelledAt = Date.now();
      query.cancel();
      const settled = await Promise.race([outcome, sleep(2_000).then(() => 'still running after 2 s')]);
      expect(settled).toMatchObject({ code: '57014' });
      expect(Date.now() - cancelledAt).toBeLessThan(2_000);
    } finally {
      // If the cancel went nowhere, do not leave the sleep behind for the next test.
      await superuser.query(
        "select pg_cancel_backend(pid) from pg_stat_activity where query like '%pg_sleep%' and pid <> pg_backend_pid()",
      );
      await sql.end({ timeout: 1 });
    }
  });

  it('psql on SIGINT cancels its running statement through the gateway', async () => {
    const child = spawn('psql', ['-X', '-c', 'select pg_sleep(30)'], {
      env: gw.env(await gw.issue()),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await untilSleeping();
      const started = Date.now();
      child.kill('SIGINT');
      const code = await exited;
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(stderr).toContain('canceling statement due to user request');
      expect(code).not.toBe(0);
      expect(await untilNoSleepingBackends()).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('a CancelRequest with the wrong secret is ignored; with the right one it cancels', async () => {
    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    client.on('error', () => {});
    await client.connect();
    try {
      const keys = client as unknown as KeyedClient;
      const upstreamPid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]
        ?.pid;
      // The agent sees the gateway's cancel key, not the upstream backend's.
      expect(keys.processID).not.toBe(upstreamPid);

      const short = client.query('select pg_sleep(0.8) as slept');
      await untilSleeping();
      await sendCancelRequest(gw.port, keys.processID, keys.secretKey ^ 0x5a5a5a5a);
      await sendCancelRequest(gw.port, keys.processID + 1, keys.secretKey);
      expect((await short).rows).toEqual([{ slept: '' }]);

      const long = client.query('select pg_sleep(30)').then(
        () => null,
        (error: { code?: string }) => error,
      );
      await untilSleeping();
      await sendCancelRequest(gw.port, keys.processID, keys.secretKey);
      expect(await long).toMatchObject({ code: '57014' });
      expect(await untilNoSleepingBackends()).toBe(0);
      // A cancel while idle does nothing to the next statement.
      await sendCancelRequest(gw.port, keys.processID, keys.secretKey);
      await sleep(100);
      expect((await client.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await client.end();
    }
  });

  it('an agent that disconnects mid-statement does not leave the statement running upstream', async () => {
    const client = new pg.Client(gw.pgConfig(await gw.issue()));
    client.on('error', () => {});
    await client.connect();
    const pending = client.query('select pg_sleep(30)').catch(() => null);
    await untilSleeping();
    client.connection.stream.destroy();
    await pending;
    expect(await untilNoSleepingBackends()).toBe(0);
  });

  it('an agent that disconnects during a cursor statement (no Sync sent yet) does not leave it running', async () => {
    const sql = postgres(gw.url(await gw.issue()), { max: 1, onnotice: () => {} });
    const running = (async () => {
      for await (const _rows of sql`select pg_sleep(30)`.cursor(10)) {
        // never reached
      }
    })().catch(() => null);
    try {
      await untilSleeping();
      // Terminate and close, as postgres.js does when told to end now.
      await sql.end({ timeout: 0 });
      await running;
      expect(await untilNoSleepingBackends()).toBe(0);
    } finally {
      await superuser.query(
        "select pg_cancel_backend(pid) from pg_stat_activity where query like '%pg_sleep%' and pid <> pg_backend_pid()",
      );
    }
  });
});
