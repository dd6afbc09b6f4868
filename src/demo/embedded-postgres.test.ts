/** Embedded demo PostgreSQL: seed contents over a real `pg` connection, and the socket server's quirks. */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.js';

function connect(server: EmbeddedPostgres, overrides: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    database: server.database,
    connectionTimeoutMillis: 5_000,
    ...overrides,
  });
  client.on('error', () => {});
  return client.connect().then(() => client);
}

async function rows<T>(client: pg.Client, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await client.query(sql, params)).rows as T[];
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Resolves with whatever the server sent within `waitMs`, and whether it closed the socket. */
function rawExchange(
  port: number,
  bytes: Buffer,
  waitMs: number,
): Promise<{ reply: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let reply = Buffer.alloc(0);
    let closed = false;
    socket.on('data', (chunk) => {
      reply = Buffer.concat([reply, chunk]);
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    setTimeout(() => {
      socket.destroy();
      resolve({ reply, closed });
    }, waitMs);
  });
}

function pending<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
}

describe('embedded shop database', () => {
  let server: EmbeddedPostgres;
  let client: pg.Client;

  beforeAll(async () => {
    server = await startEmbeddedPostgres();
    client = await connect(server);
  });

  afterAll(async () => {
    await client?.end();
    await server?.close();
  });

  it('seeds every table with the advertised counts', async () => {
    expect(server.seed).toMatchObject({ customers: 200, orders: 500, secrets: 5 });
    expect(server.seed?.orderItems).toBeGreaterThan(1_000);
    const [counts] = await rows<Record<string, number>>(
      client,
      `SELECT (SELECT count(*)::int FROM customers) AS customers, (SELECT count(*)::int FROM orders) AS orders,
              (SELECT count(*)::int FROM order_items) AS "orderItems", (SELECT count(*)::int FROM secrets) AS secrets`,
    );
    expect(counts).toEqual(server.seed);
  });

  it('fills customers with test-only PII', async () => {
    const customers = await rows<{ email: string; phone: string; ssn: string; card_number: string }>(
      client,
      'SELECT email, phone, ssn, card_number FROM customers',
    );
    expect(new Set(customers.map((c) => c.email)).size).toBe(customers.length);
    for (const c of customers) {
      expect(c.email).toMatch(/^[a-z]+\.[a-z]+\d*@example\.(com|org|net)$/);
      expect(c.phone).toMatch(/^\+1-\d{3}-555-01\d{2}$/);
      expect(c.ssn).toMatch(/^9\d{2}-[1-4]\d-\d{4}$/);
      expect(c.card_number).toMatch(/^\d{14,16}$/);
      expect(luhnValid(c.card_number)).toBe(true);
    }
  });

  it('keeps order totals consistent with order_total()', async () => {
    const mismatches = await rows(client, 'SELECT id FROM orders WHERE total_cents <> order_total(id)');
    expect(mismatches).toEqual([]);
  });

  it('answers parameterised (extended protocol) queries', async () => {
    const [customer] = await rows<{ email: string; orders: number }>(
      client,
      'SELECT email, (SELECT count(*)::int FROM orders WHERE customer_id = $1) AS orders FROM customers WHERE id = $1',
      [1],
    );
    expect(customer?.email).toMatch(/@example\./);
    const [total] = await rows<{ total: string }>(client, 'SELECT order_total($1) AS total', [1]);
    expect(Number(total?.total)).toBeGreaterThan(0);
  });

  it('ignores the user, password and database named at startup', async () => {
    const other = await connect(server, { user: 'agent_x', password: 'wrong', database: 'shop' });
    const [who] = await rows(other, 'SELECT current_user AS "user", current_database() AS database');
    await other.end();
    expect(who).toEqual({ user: 'postgres', database: 'postgres' });
  });

  it("answers an SSLRequest with 'N' (no TLS)", async () => {
    const sslRequest = Buffer.alloc(8);
    sslRequest.writeInt32BE(8, 0);
    sslRequest.writeInt32BE(80877103, 4);
    const { reply } = await rawExchange(server.port, sslRequest, 300);
    expect(reply.toString()).toBe('N');
  });

  it('ignores a CancelRequest: the running query finishes and the cancel socket stays open', async () => {
    const cancelRequest = Buffer.alloc(16);
    cancelRequest.writeInt32BE(16, 0);
    cancelRequest.writeInt32BE(80877102, 4);
    const sleeping = client.query('SELECT pg_sleep(0.6) AS slept');
    await new Promise((r) => setTimeout(r, 100));
    const { closed } = await rawExchange(server.port, cancelRequest, 200);
    await expect(sleeping).resolves.toMatchObject({ rowCount: 1 });
    expect(closed).toBe(false);
  });

  it('runs statements on the calling thread, blocking the event loop', async () => {
    const started = performance.now();
    const timer = new Promise<number>((r) => setTimeout(() => r(performance.now() - started), 10));
    await client.query('SELECT pg_sleep(0.3)');
    expect(await timer).toBeGreaterThanOrEqual(250);
  });

  it('multiplexes concurrent connections onto one shared session', async () => {
    const first = await connect(server);
    const second = await connect(server);
    try {
      const [a, b] = await Promise.all([
        rows(first, 'SELECT $1::int * 2 AS doubled', [21]),
        rows(second, "SELECT $1::text || '!' AS shouted", ['hi']),
      ]);
      expect(a).toEqual([{ doubled: 42 }]);
      expect(b).toEqual([{ shouted: 'hi!' }]);

      // Session state leaks between connections: there is only one backend.
      await first.query("SET application_name = 'set_by_first'");
      expect(await rows(second, 'SHOW application_name')).toEqual([{ application_name: 'set_by_first' }]);
      await first.query('RESET application_name');

      // An open transaction on one connection holds back every other connection, even a new one's startup.
      await first.query('BEGIN');
      const blocked = rows(second, 'SELECT 1 AS ran');
      const third = connect(server);
      expect(await pending(blocked, 300)).toBe('pending');
      expect(await pending(third, 10)).toBe('pending');
      await first.query('ROLLBACK');
      expect(await blocked).toEqual([{ ran: 1 }]);
      await (await third).end();
    } finally {
      await first.end();
      await second.end();
    }
  });
});

describe('embedded database with maxConnections 1 and a data directory', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'airlock-embedded-pg-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a second concurrent connection, then frees the port on close', async () => {
    const server = await startEmbeddedPostgres({ dataDir, maxConnections: 1 });
    const first = await connect(server);
    await expect(connect(server)).rejects.toThrow(/terminated|ECONNRESET/i);
    expect(await rows(first, 'SELECT 1 AS still_fine')).toEqual([{ still_fine: 1 }]);
    await first.query("INSERT INTO secrets (name, value) VALUES ('added_later', 'x')");
    await first.end();

    await server.close();
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(server.port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => probe.close(resolve));
  });

  it('reopens a seeded data directory without reseeding', async () => {
    const server = await startEmbeddedPostgres({ dataDir });
    try {
      expect(server.seed).toBeNull();
      const client = await connect(server);
      const [count] = await rows(client, 'SELECT count(*)::int AS n FROM secrets');
      await client.end();
      expect(count).toEqual({ n: 6 });
    } finally {
      await server.close();
    }
  });
});
