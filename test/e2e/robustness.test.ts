/**
 * Hostile and broken clients on raw sockets: fuzzed first packets and fuzzed frames after a real SCRAM
 * login never crash the gateway or leak sessions; size and framing limits, slow starts, unsafe startup
 * parameters and pipelined SSLRequest data are refused with the documented SQLSTATE; a disconnecting
 * agent releases its upstream; one bad session does not disturb another; max_connections holds.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedToken } from '../../src/identity/issue-token.js';
import { decodeAuthentication, decodeErrorFields } from '../../src/wire/postgres/backend-decoders.js';
import {
  encodeMessage,
  encodeRequestCode,
  encodeSaslInitialResponse,
  encodeSaslResponse,
  encodeStartupMessage,
  encodeTerminate,
} from '../../src/wire/postgres/message-writer.js';
import {
  CANCEL_REQUEST_CODE,
  Frontend,
  GSSENC_REQUEST_CODE,
  PROTOCOL_VERSION_3_0,
  SSL_REQUEST_CODE,
} from '../../src/wire/postgres/protocol-constants.js';
import { ScramClientSession } from '../../src/wire/postgres/scram.js';
import { type RealPostgres, startRealPostgres } from '../helpers/real-postgres.js';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import { generateTestCertificates } from '../helpers/tls-certs.js';

const run = promisify(execFile);

const STARTUP_TIMEOUT_MS = 500;
/** AIRLOCK_FUZZ_RUNS=1000 runs the fuzz properties longer (e.g. before a release); the default keeps CI fast. */
const FUZZ_SCALE = Math.max(1, Number(process.env.AIRLOCK_FUZZ_RUNS ?? 0) / 150);
const MAX_MESSAGE_BYTES = 1024;
/** SQLSTATEs the gateway may legitimately refuse a broken or hostile first packet with. */
const STARTUP_REFUSAL_CODES = new Set(['08P01', '28P01', '28000', '3D000', '42501']);

// ---- a raw protocol client ---------------------------------------------------------------------

interface BackendMessage {
  readonly type: string;
  readonly body: Buffer;
}

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value | 0);
  return b;
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

function takeMessage(data: Buffer): { message: BackendMessage; used: number } | null {
  if (data.length < 5) return null;
  const length = data.readInt32BE(1);
  if (length < 4) throw new Error(`the gateway sent a message with length ${length}`);
  if (data.length < length + 1) return null;
  return {
    message: { type: String.fromCharCode(data[0]!), body: data.subarray(5, length + 1) },
    used: length + 1,
  };
}

/** Splits a received byte stream into messages; `leadingN` single-byte SSL/GSS refusals may come first. */
function parseStream(data: Buffer, leadingN = false): { messages: BackendMessage[]; rest: Buffer } {
  let offset = 0;
  if (leadingN) while (data[offset] === 0x4e && offset < data.length) offset++;
  const messages: BackendMessage[] = [];
  for (;;) {
    const next = takeMessage(data.subarray(offset));
    if (next === null) break;
    messages.push(next.message);
    offset += next.used;
  }
  return { messages, rest: data.subarray(offset) };
}

function errorFields(message: BackendMessage): Map<string, string> {
  return decodeErrorFields(message.body);
}

/** A socket with awaitable reads of whole backend messages (linear in the bytes received, even for huge rows). */
class RawClient {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly chunks: Buffer[] = [];
  private readonly waiters = new Set<() => void>();
  closed = false;
  /** BackendKeyData from the login, for CancelRequests. */
  backendKey: { processId: number; secretKey: number } | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      this.notify();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Everything received so far. */
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** The first `n` pending bytes as one buffer (joining chunks only when needed), or null if fewer. */
  private head(n: number): Buffer | null {
    if (this.pendingBytes < n) return null;
    if (this.pending[0]!.length < n) this.pending = [Buffer.concat(this.pending)];
    return this.pending[0]!;
  }

  private consume(n: number): void {
    const first = this.pending[0]!.subarray(n);
    if (first.length === 0) this.pending.shift();
    else this.pending[0] = first;
    this.pendingBytes -= n;
  }

  private async until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** The next whole message, or null when the connection closed first. */
  nextMessage(timeoutMs = 5000): Promise<BackendMessage | null> {
    return this.until(
      () => {
        const header = this.head(5);
        if (header !== null) {
          const size = header.readInt32BE(1) + 1;
          const whole = this.head(size);
          if (whole !== null) {
            const message = {
              type: String.fromCharCode(whole[0]!),
              body: Buffer.from(whole.subarray(5, size)),
            };
            this.consume(size);
            return message;
          }
        }
        return this.closed ? null : undefined;
      },
      timeoutMs,
      'backend message',
    );
  }

  /** Messages up to and including the first of `type` (throws if the connection closes first). */
  async readUntil(type: string, timeoutMs = 5000): Promise<BackendMessage[]> {
    const seen: BackendMessage[] = [];
    for (;;) {
      const message = await this.nextMessage(timeoutMs);
      if (message === null) {
        throw new Error(`connection closed before '${type}'; got ${seen.map((m) => m.type).join('')}`);
      }
      seen.push(message);
      if (message.type === type) return seen;
    }
  }

  /** One raw byte (SSLRequest answers), or null on close. */
  nextByte(timeoutMs = 5000): Promise<number | null> {
    return this.until(
      () => {
        const header = this.head(1);
        if (header !== null) {
          this.consume(1);
          return header[0]!;
        }
        return this.closed ? null : undefined;
      },
      timeoutMs,
      'byte',
    );
  }

  /** Resolves true once the gateway closed the connection, false if it is still open after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    return this.until(() => (this.closed ? true : undefined), timeoutMs, 'close').catch(() => false);
  }
}

/** Logs in with a real SCRAM-SHA-256 exchange and reads up to the first ReadyForQuery. */
async function rawSession(port: number, token: IssuedToken): Promise<RawClient> {
  const client = await RawClient.connect(port);
  client.write(encodeStartupMessage({ user: token.tokenId, database: token.upstream }));
  const expectAuth = async (code: number): Promise<Buffer> => {
    const message = await client.nextMessage();
    if (message?.type !== 'R') {
      const detail = message?.type === 'E' ? errorFields(message).get('M') : message?.type;
      throw new Error(`expected Authentication ${code}, got ${detail ?? 'close'}`);
    }
    const auth = decodeAuthentication(message.body);
    expect(auth.code).toBe(code);
    return auth.data;
  };
  await expectAuth(10);
  const scram = new ScramClientSession(token.secret);
  client.write(encodeSaslInitialResponse('SCRAM-SHA-256', scram.clientFirst()));
  client.write(encodeSaslResponse(scram.handleServerFirst(await expectAuth(11))));
  scram.verifyServerFinal(await expectAuth(12));
  await expectAuth(0);
  const key = (await client.readUntil('Z')).find((message) => message.type === 'K');
  if (key !== undefined) {
    client.backendKey = { processId: key.body.readInt32BE(0), secretKey: key.body.readInt32BE(4) };
  }
  return client;
}

const queryMessage = (sql: string): Buffer => encodeMessage(Frontend.Query, cstring(sql));
const syncMessage = (): Buffer => encodeMessage(Frontend.Sync, Buffer.alloc(0));

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface LogEntry {
  readonly level: number;
  readonly msg?: string;
}

function errorLogsSince(gw: TestGateway, mark: number): string[] {
  return gw.logs.slice(mark).filter((line) => (JSON.parse(line) as LogEntry).level >= 50);
}

// ---- fuzz inputs ---------------------------------------------------------------------------------

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

const startupKey = fc.oneof(
  fc.constantFrom(
    'user',
    'database',
    'options',
    'replication',
    'application_name',
    'search_path',
    'client_encoding',
    '_pq_.x',
  ),
  fc.string({ maxLength: 12 }),
);

/** First packets: noise, plausible lengths, known request codes with junk, startup packets with odd parameters. */
const firstPacket: fc.Arbitrary<Buffer> = fc.oneof(
  bytes(64),
  fc
    .tuple(fc.integer({ min: -16, max: 12_000 }), bytes(200))
    .map(([length, rest]) => Buffer.concat([int32(length), rest])),
  fc
    .tuple(
      fc.constantFrom(
        SSL_REQUEST_CODE,
        GSSENC_REQUEST_CODE,
        CANCEL_REQUEST_CODE,
        PROTOCOL_VERSION_3_0,
        PROTOCOL_VERSION_3_0 + 1,
        0x00020000,
        0x00040000,
      ),
      bytes(64),
      fc.integer({ min: -2, max: 2 }),
    )
    .map(([code, rest, skew]) => {
      const body = Buffer.concat([int32(code), rest]);
      return Buffer.concat([int32(body.length + 4 + skew), body]);
    }),
  fc
    .tuple(fc.array(fc.tuple(startupKey, fc.string({ maxLength: 24 })), { maxLength: 5 }), fc.boolean())
    .map(([pairs, terminated]) => {
      const body = Buffer.concat([
        int32(PROTOCOL_VERSION_3_0),
        ...pairs.flatMap(([k, v]) => [cstring(k), cstring(v)]),
        terminated ? Buffer.from([0]) : Buffer.alloc(0),
      ]);
      return Buffer.concat([int32(body.length + 4), body]);
    }),
  fc
    .tuple(fc.constantFrom(SSL_REQUEST_CODE, GSSENC_REQUEST_CODE), bytes(40))
    .map(([code, rest]) => Buffer.concat([encodeRequestCode(code), rest])),
);

const FRONTEND_TYPES = Object.values(Frontend);

/** One frame with a correct length: a known or random type byte and a random or plausible body. */
const frame: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .tuple(fc.oneof(fc.constantFrom(...FRONTEND_TYPES), fc.integer({ min: 0, max: 255 })), bytes(48))
    .map(([type, body]) => encodeMessage(type, body)),
  fc.string({ maxLength: 40 }).map((sql) => queryMessage(sql)),
  fc
    .tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 30 }), fc.integer({ min: -1, max: 3 }))
    .map(([name, sql, count]) =>
      encodeMessage(
        Frontend.Parse,
        Buffer.concat([cstring(name), cstring(sql), Buffer.from([0, count & 0xff])]),
      ),
    ),
  fc
    .tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), bytes(12))
    .map(([portal, statement, rest]) =>
      encodeMessage(Frontend.Bind, Buffer.concat([cstring(portal), cstring(statement), rest])),
    ),
  fc
    .tuple(
      fc.constantFrom(Frontend.Describe, Frontend.Close),
      fc.constantFrom(0x53, 0x50, 0x41),
      fc.string({ maxLength: 6 }),
    )
    .map(([type, target, name]) =>
      encodeMessage(type, Buffer.concat([Buffer.from([target]), cstring(name)])),
    ),
  fc
    .tuple(fc.string({ maxLength: 6 }), fc.integer())
    .map(([portal, rows]) => encodeMessage(Frontend.Execute, Buffer.concat([cstring(portal), int32(rows)]))),
  fc.constant(syncMessage()),
  fc.constant(encodeMessage(Frontend.Flush, Buffer.alloc(0))),
);

/** What a fuzzed client sends after logging in: well-framed messages, or raw bytes that may break framing. */
const afterLogin = fc.oneof(
  fc
    .array(frame, { minLength: 1, maxLength: 8 })
    .map((frames) => ({ framed: true, data: Buffer.concat(frames) })),
  bytes(160).map((data) => ({ framed: false, data })),
);

// ---- the suite -------------------------------------------------------------------------------------

describe('robustness against broken and hostile clients', () => {
  let db: RealPostgres;
  let admin: pg.Client;
  let gw: TestGateway;
  let tlsGw: TestGateway;
  let certDir: string;
  let healthToken: IssuedToken;

  /** A normal client can connect through `gateway` and run a query. */
  async function assertHealthy(gateway: TestGateway = gw, token: IssuedToken = healthToken): Promise<void> {
    const client = new pg.Client(gateway.pgConfig(token));
    await client.connect();
    try {
      expect((await client.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await client.end();
    }
  }

  async function upstreamBackends(): Promise<number> {
    const result = await admin.query<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where usename = $1',
      [db.users.scram.user],
    );
    return result.rows[0]?.n ?? -1;
  }

  beforeAll(async () => {
    certDir = await mkdtemp(path.join(os.tmpdir(), 'airlock-robustness-'));
    [db] = await Promise.all([startRealPostgres(), generateTestCertificates(certDir)]);
    admin = new pg.Client({ host: db.host, port: db.port, user: db.superuser, database: 'shop' });
    await admin.connect();
    const limits = `limits:\n  max_message_size: 1KiB\n  startup_timeout: ${STARTUP_TIMEOUT_MS}ms`;
    [gw, tlsGw] = await Promise.all([
      startTestGateway(db, { extraYaml: limits }),
      startTestGateway(db, {
        extraYaml: `${limits}\ntls:\n  cert: server.crt\n  key: server.key`,
        baseDir: certDir,
      }),
    ]);
    healthToken = await gw.issue();
  });
  afterAll(async () => {
    await Promise.all([gw?.close(), tlsGw?.close()]);
    await admin?.end();
    await db?.stop();
    if (certDir) await rm(certDir, { recursive: true, force: true });
  });

  it(
    'fuzz: arbitrary first packets are answered or closed, never crash the gateway',
    async () => {
      await fc.assert(
        fc.asyncProperty(firstPacket, async (packet) => {
          const mark = gw.logs.length;
          const client = await RawClient.connect(gw.port);
          try {
            client.write(packet);
            // Give the gateway a moment to answer or refuse on its own, then hang up our side: an
            // incomplete packet must then be closed promptly as well.
            if (!(await client.waitClosed(30))) client.socket.end();
            expect(await client.waitClosed(STARTUP_TIMEOUT_MS + 1500)).toBe(true);
            const { messages, rest } = parseStream(client.received, true);
            expect(rest.length).toBe(0);
            for (const message of messages) {
              expect(['R', 'E', 'v']).toContain(message.type);
              if (message.type === 'E') {
                const fields = errorFields(message);
                expect(fields.get('S')).toBe('FATAL');
                expect(STARTUP_REFUSAL_CODES.has(fields.get('C') ?? '')).toBe(true);
                expect(fields.get('H')?.length ?? 0).toBeGreaterThan(0);
              }
            }
          } finally {
            client.destroy();
          }
          expect(errorLogsSince(gw, mark)).toEqual([]);
          await assertHealthy();
        }),
        {
          numRuns: Math.round(150 * FUZZ_SCALE),
          plugins: [fc.interruptAfterTimeLimit(45_000 * FUZZ_SCALE, { failOnInterrupt: true })],
        },
      );
      await assertHealthy();
    },
    120_000 * FUZZ_SCALE,
  );

  it(
    'fuzz: arbitrary frames after a real SCRAM login never crash the gateway or leak sessions',
    async () => {
      const token = await gw.issue();
      await fc.assert(
        fc.asyncProperty(afterLogin, fc.nat(), async ({ framed, data }, nonce) => {
          const mark = gw.logs.length;
          const client = await rawSession(gw.port, token);
          const sentinel = `alive-${nonce}`;
          try {
            client.write(data);
            // A Sync closes any extended batch, then a query the gateway must answer if the session lives.
            client.write(Buffer.concat([syncMessage(), queryMessage(`select '${sentinel}'`)]));
            // Raw bytes may leave a message half-sent: zero padding completes it and then fails framing.
            if (!framed) client.write(Buffer.alloc(MAX_MESSAGE_BYTES + 16));
            const deadline = Date.now() + 5000;
            let answered = false;
            while (!client.closed && !answered && Date.now() < deadline) {
              const message = await client.nextMessage(deadline - Date.now()).catch(() => null);
              if (message === null) break;
              if (message.type === 'D' && message.body.includes(Buffer.from(sentinel))) answered = true;
            }
            const closed = await client.waitClosed(answered ? 0 : 1000);
            // The gateway answered the query after the fuzz, or it closed the connection: never silence.
            expect(answered || closed, 'neither answered nor closed').toBe(true);
            if (!framed) expect(await client.waitClosed(2000)).toBe(true);
            const { messages } = parseStream(client.received);
            for (const message of messages.filter((m) => m.type === 'E')) {
              expect(errorFields(message).get('C')).not.toBe('XX000');
            }
          } finally {
            client.destroy();
          }
          // Every session ends once the agent is gone; nothing went wrong inside the gateway.
          await expect.poll(() => gw.gateway.sessions.size, { timeout: 3000, interval: 10 }).toBe(0);
          expect(errorLogsSince(gw, mark)).toEqual([]);
          await assertHealthy();
        }),
        {
          numRuns: Math.round(120 * FUZZ_SCALE),
          plugins: [fc.interruptAfterTimeLimit(60_000 * FUZZ_SCALE, { failOnInterrupt: true })],
        },
      );
      await assertHealthy();
      // No upstream connection outlives its agent.
      await expect.poll(upstreamBackends, { timeout: 5000, interval: 50 }).toBe(0);
    },
    150_000 * FUZZ_SCALE,
  );

  it('a Query over limits.max_message_size (1 KiB) gets FATAL 08P01 and the connection is closed', async () => {
    const client = new pg.Client(gw.pgConfig(healthToken));
    client.on('error', () => {});
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    await client.connect();
    const big = `select '${'x'.repeat(2048)}'`;
    const error = (await client.query(big).then(
      () => null,
      (e: pg.DatabaseError) => e,
    )) as pg.DatabaseError | null;
    expect(error?.severity).toBe('FATAL');
    expect(error?.code).toBe('08P01');
    expect(error?.message).toMatch(/^message of \d+ bytes exceeds the gateway limit of 1024 bytes$/);
    expect(error?.hint).toMatch(/limits\.max_message_size/);
    await ended;
    await client.end().catch(() => {});
    await assertHealthy();
  });

  it('an oversized message is refused from its header alone, without waiting for the body', async () => {
    const client = await rawSession(gw.port, healthToken);
    try {
      const header = Buffer.alloc(5);
      header[0] = Frontend.Query;
      header.writeInt32BE(64 * 1024 * 1024, 1);
      client.write(header);
      const message = await client.nextMessage(2000);
      expect(message?.type).toBe('E');
      expect(errorFields(message!).get('C')).toBe('08P01');
      expect(await client.waitClosed(2000)).toBe(true);
    } finally {
      client.destroy();
    }
  });

  it('a message length below 4 is a protocol violation (08P01), after login and in the startup packet', async () => {
    const session = await rawSession(gw.port, healthToken);
    try {
      session.write(Buffer.from([Frontend.Query, 0, 0, 0, 2]));
      const message = await session.nextMessage(2000);
      expect(message?.type).toBe('E');
      const fields = errorFields(message!);
      expect(fields.get('S')).toBe('FATAL');
      expect(fields.get('C')).toBe('08P01');
      expect(fields.get('M')).toMatch(/protocol violation: .*length 2 is below the minimum of 4/);
      expect(fields.get('H')).toMatch(/protocol 3\.0/);
      expect(await session.waitClosed(2000)).toBe(true);
    } finally {
      session.destroy();
    }
    const startup = await RawClient.connect(gw.port);
    try {
      startup.write(int32(2));
      const message = await startup.nextMessage(2000);
      expect(message?.type).toBe('E');
      expect(errorFields(message!).get('C')).toBe('08P01');
      expect(errorFields(message!).get('M')).toMatch(/invalid startup packet length 2/);
      expect(await startup.waitClosed(2000)).toBe(true);
    } finally {
      startup.destroy();
    }
  });

  it('an unknown message type after login gets FATAL 08P01 naming the type', async () => {
    for (const type of [0x01, 0x7a, Frontend.Password]) {
      const client = await rawSession(gw.port, healthToken);
      try {
        client.write(encodeMessage(type, Buffer.from('junk\0')));
        const message = await client.nextMessage(2000);
        expect(message?.type).toBe('E');
        const fields = errorFields(message!);
        expect(fields.get('S')).toBe('FATAL');
        expect(fields.get('C')).toBe('08P01');
        expect(fields.get('M')).toBe(`protocol violation: unexpected message type 0x${type.toString(16)}`);
        expect(await client.waitClosed(2000)).toBe(true);
      } finally {
        client.destroy();
      }
    }
    await assertHealthy();
  });

  it.each([
    { name: 'an unknown message type', bad: () => encodeMessage(0x01, Buffer.alloc(0)) },
    { name: 'a message over max_message_size', bad: () => queryMessage(`select '${'y'.repeat(2048)}'`) },
  ])(
    '$name sent while a large result streams still reaches the agent as a well-formed FATAL 08P01',
    async ({ bad }) => {
      const client = await rawSession(gw.port, healthToken);
      try {
        // A 32 MiB row, and an agent that stops reading once it arrives: the gateway is then certainly in
        // the middle of relaying that DataRow when the agent's next (pipelined) message turns out bad.
        client.write(queryMessage("select repeat('x', 32 * 1024 * 1024) as big"));
        expect((await client.nextMessage(5000))?.type).toBe('T');
        client.socket.pause();
        await sleep(300);
        client.write(bad());
        await sleep(200);
        client.socket.resume();
        expect(await client.waitClosed(10_000)).toBe(true);
        const { messages, rest } = parseStream(client.received);
        const last = messages[messages.length - 1];
        // The stream must stay parseable: the gateway's ErrorResponse must not land inside the DataRow.
        expect({ trailingBytes: rest.length, lastType: last?.type }).toEqual({
          trailingBytes: 0,
          lastType: 'E',
        });
        expect(errorFields(last!).get('C')).toBe('08P01');
      } finally {
        client.destroy();
      }
      await assertHealthy();
    },
  );

  it('slowloris: a connection that sends nothing gets FATAL 08P01 after limits.startup_timeout', async () => {
    const client = await RawClient.connect(gw.port);
    const started = Date.now();
    try {
      const message = await client.nextMessage(STARTUP_TIMEOUT_MS + 3000);
      const elapsed = Date.now() - started;
      expect(message?.type).toBe('E');
      const fields = errorFields(message!);
      expect(fields.get('S')).toBe('FATAL');
      expect(fields.get('C')).toBe('08P01');
      expect(fields.get('M')).toBe('connection startup did not complete within 0.5 s');
      expect(elapsed).toBeGreaterThanOrEqual(STARTUP_TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(STARTUP_TIMEOUT_MS + 1500);
      expect(await client.waitClosed(2000)).toBe(true);
    } finally {
      client.destroy();
    }
  });

  it('slowloris: a partial startup packet, or a login that stalls mid-SCRAM, is cut off the same way', async () => {
    const partial = await RawClient.connect(gw.port);
    const stalled = await RawClient.connect(gw.port);
    try {
      const startupPacket = encodeStartupMessage({ user: healthToken.tokenId, database: 'shop' });
      partial.write(startupPacket.subarray(0, 10));
      stalled.write(startupPacket);
      expect((await stalled.nextMessage(2000))?.type).toBe('R'); // AuthenticationSASL, then we go quiet
      for (const client of [partial, stalled]) {
        const message = await client.nextMessage(STARTUP_TIMEOUT_MS + 3000);
        expect(message?.type).toBe('E');
        expect(errorFields(message!).get('C')).toBe('08P01');
        expect(errorFields(message!).get('M')).toMatch(/startup did not complete within 0\.5 s/);
        expect(await client.waitClosed(2000)).toBe(true);
      }
    } finally {
      partial.destroy();
      stalled.destroy();
    }
  });

  it.each([
    { name: 'options=-c role=postgres', config: { options: '-c role=postgres' }, refused: 'options' },
    { name: 'replication=database', config: { replication: 'database' }, refused: 'replication' },
  ])('node-postgres with $name is refused with 42501', async ({ config, refused }) => {
    const client = new pg.Client({ ...gw.pgConfig(healthToken), ...config });
    client.on('error', () => {});
    const error = (await client.connect().then(
      () => null,
      (e: pg.DatabaseError) => e,
    )) as pg.DatabaseError | null;
    await client.end().catch(() => {});
    expect(error?.severity).toBe('FATAL');
    expect(error?.code).toBe('42501');
    expect(error?.message).toBe(`startup parameter "${refused}" is not allowed through the gateway`);
    expect(error?.hint).toMatch(/Remove it from the connection string/);
  });

  it('psql with PGOPTIONS="-c role=postgres" is refused with 42501', async () => {
    const result = await run('psql', ['-w', '-X', '-c', 'select 1'], {
      env: { ...gw.env(healthToken), PGOPTIONS: '-c role=postgres' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (failure: { code?: number; stderr?: string }) => ({
        code: failure.code ?? -1,
        stderr: failure.stderr ?? '',
      }),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/FATAL: {2}startup parameter "options" is not allowed through the gateway/);
    expect(result.stderr).toMatch(/HINT: {2}Remove it from the connection string \(PGOPTIONS/);
  });

  it.each(['search_path', 'role', 'session_authorization', 'default_transaction_read_only'])(
    'a raw startup parameter %s is refused with 42501',
    async (name) => {
      const client = await RawClient.connect(gw.port);
      try {
        client.write(
          encodeStartupMessage({ user: healthToken.tokenId, database: 'shop', [name]: 'postgres' }),
        );
        const message = await client.nextMessage(2000);
        expect(message?.type).toBe('E');
        const fields = errorFields(message!);
        expect(fields.get('C')).toBe('42501');
        expect(fields.get('M')).toBe(`startup parameter "${name}" is not allowed through the gateway`);
        expect(await client.waitClosed(2000)).toBe(true);
      } finally {
        client.destroy();
      }
    },
  );

  it('data pipelined behind an SSLRequest (before the TLS handshake) is refused with 08P01', async () => {
    const client = await RawClient.connect(tlsGw.port);
    try {
      client.write(
        Buffer.concat([
          encodeRequestCode(SSL_REQUEST_CODE),
          encodeStartupMessage({ user: healthToken.tokenId, database: 'shop' }),
        ]),
      );
      // No 'S': the gateway must not start TLS with plaintext bytes already queued behind it.
      const first = await client.nextByte(2000);
      expect(String.fromCharCode(first ?? 0)).toBe('E');
      expect(await client.waitClosed(2000)).toBe(true);
      const { messages } = parseStream(client.received);
      const fields = errorFields(messages[0]!);
      expect(fields.get('C')).toBe('08P01');
      expect(fields.get('M')).toBe('protocol violation: data sent after SSLRequest before the TLS handshake');
    } finally {
      client.destroy();
    }
  });

  it('a client that fails the TLS handshake is closed without an internal error', async () => {
    const mark = tlsGw.logs.length;
    const client = await RawClient.connect(tlsGw.port);
    try {
      client.write(encodeRequestCode(SSL_REQUEST_CODE));
      expect(String.fromCharCode((await client.nextByte(2000)) ?? 0)).toBe('S');
      client.write(Buffer.from('GET / HTTP/1.1\r\nHost: airlock\r\n\r\n'));
      expect(await client.waitClosed(3000)).toBe(true);
      expect(client.received.toString('latin1')).not.toMatch(/XX000/);
    } finally {
      client.destroy();
    }
    // A broken client is not a gateway failure: nothing at error level ("startup failed").
    expect(errorLogsSince(tlsGw, mark)).toEqual([]);
  });

  it('an agent that disconnects in the middle of pg_sleep(30) releases its upstream backend', async () => {
    const client = new pg.Client(gw.pgConfig(healthToken));
    client.on('error', () => {});
    await client.connect();
    const running = client.query('select pg_sleep(30)').catch(() => 'aborted');
    const sleeping = async (): Promise<number> =>
      (
        await admin.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where state = 'active' and query = 'select pg_sleep(30)'",
        )
      ).rows[0]?.n ?? -1;
    await expect.poll(sleeping, { timeout: 5000, interval: 20 }).toBe(1);
    const dropped = Date.now();
    (client as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy();
    expect(await running).toBe('aborted');
    await expect.poll(sleeping, { timeout: 5000, interval: 20 }).toBe(0);
    expect(Date.now() - dropped).toBeLessThan(3000);
    await expect.poll(upstreamBackends, { timeout: 5000, interval: 20 }).toBe(0);
  });

  it('a CancelRequest with a wrong key is ignored; with the right key it cancels the running statement', async () => {
    const session = await rawSession(gw.port, healthToken);
    const sleeping = async (): Promise<number> =>
      (
        await admin.query<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where state = 'active' and query = 'select pg_sleep(30)'",
        )
      ).rows[0]?.n ?? -1;
    try {
      const key = session.backendKey!;
      expect(key).not.toBeNull();
      session.write(queryMessage('select pg_sleep(30)'));
      await expect.poll(sleeping, { timeout: 5000, interval: 20 }).toBe(1);
      const cancel = (processId: number, secretKey: number) => {
        const out = Buffer.alloc(16);
        out.writeInt32BE(16, 0);
        out.writeInt32BE(CANCEL_REQUEST_CODE, 4);
        out.writeInt32BE(processId | 0, 8);
        out.writeInt32BE(secretKey | 0, 12);
        return out;
      };
      for (const wrong of [
        cancel(key.processId, key.secretKey ^ 1),
        cancel(key.processId ^ 1, key.secretKey),
      ]) {
        const probe = await RawClient.connect(gw.port);
        probe.write(wrong);
        // The gateway closes a cancel connection without an answer, whether or not the key matched.
        expect(await probe.waitClosed(2000)).toBe(true);
        expect(probe.received.length).toBe(0);
      }
      await sleep(200);
      expect(await sleeping()).toBe(1);
      const right = await RawClient.connect(gw.port);
      right.write(cancel(key.processId, key.secretKey));
      expect(await right.waitClosed(2000)).toBe(true);
      const answer = await session.readUntil('Z', 5000);
      const error = answer.find((message) => message.type === 'E');
      expect(errorFields(error!).get('C')).toBe('57014');
      expect(await sleeping()).toBe(0);
      // The session itself lives on.
      session.write(queryMessage("select 'still here'"));
      const rows = await session.readUntil('Z', 5000);
      expect(
        rows.some((message) => message.type === 'D' && message.body.includes(Buffer.from('still here'))),
      ).toBe(true);
    } finally {
      session.destroy();
    }
  });

  it("one session's protocol error does not affect a concurrent healthy session", async () => {
    const healthy = new pg.Client(gw.pgConfig(healthToken));
    await healthy.connect();
    try {
      await healthy.query('begin');
      await healthy.query('create temp table t (x int)');
      await healthy.query('insert into t values (1), (2)');
      const slow = healthy.query('select pg_sleep(0.3), 42 as answer');
      const broken = await rawSession(gw.port, healthToken);
      broken.write(Buffer.from([0x00, 0x00, 0x00, 0x00, 0x01]));
      const refusal = await broken.nextMessage(2000);
      expect(refusal?.type).toBe('E');
      expect(errorFields(refusal!).get('C')).toBe('08P01');
      expect(await broken.waitClosed(2000)).toBe(true);
      expect((await slow).rows[0]).toMatchObject({ answer: 42 });
      await healthy.query('insert into t values (3)');
      expect((await healthy.query('select sum(x)::int as s from t')).rows).toEqual([{ s: 6 }]);
      await healthy.query('commit');
    } finally {
      await healthy.end();
    }
  });

  it('limits.max_connections: 2 refuses the third connection with 53300 and frees the slot on close', async () => {
    const limited = await startTestGateway(db, { extraYaml: 'limits:\n  max_connections: 2' });
    const clients: pg.Client[] = [];
    try {
      const token = await limited.issue();
      for (let i = 0; i < 2; i++) {
        const client = new pg.Client(limited.pgConfig(token));
        await client.connect();
        clients.push(client);
      }
      const third = new pg.Client(limited.pgConfig(token));
      third.on('error', () => {});
      const error = (await third.connect().then(
        () => null,
        (e: pg.DatabaseError) => e,
      )) as pg.DatabaseError | null;
      await third.end().catch(() => {});
      expect(error?.severity).toBe('FATAL');
      expect(error?.code).toBe('53300');
      expect(error?.message).toBe('the gateway is at its limit of 2 connections');
      expect(error?.hint).toMatch(/limits\.max_connections/);
      // The two admitted sessions are unaffected.
      for (const client of clients) expect((await client.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
      await clients.shift()!.end();
      await expect
        .poll(
          async () => {
            const again = new pg.Client(limited.pgConfig(token));
            again.on('error', () => {});
            try {
              await again.connect();
              clients.push(again);
              return true;
            } catch {
              return false;
            }
          },
          { timeout: 3000, interval: 50 },
        )
        .toBe(true);
    } finally {
      for (const client of clients) await client.end().catch(() => {});
      await limited.close();
    }
  });

  it('psql with its default sslmode=prefer is told the gateway is full (53300), not an SSL failure', async () => {
    const limited = await startTestGateway(db, { extraYaml: 'limits:\n  max_connections: 1' });
    const token = await limited.issue();
    const holder = new pg.Client(limited.pgConfig(token));
    try {
      await holder.connect();
      const stderrFor = async (sslmode: string): Promise<string> =>
        run('psql', ['-w', '-X', '-c', 'select 1'], {
          env: { ...limited.env(token), PGSSLMODE: sslmode },
        }).then(
          () => '',
          (failure: { stderr?: string }) => failure.stderr ?? '',
        );
      // With sslmode=disable libpq shows the gateway's message...
      expect(await stderrFor('disable')).toMatch(/FATAL: {2}the gateway is at its limit of 1 connection\n/);
      // ...and it must with the default (prefer) too: libpq starts with an SSLRequest, so an ErrorResponse
      // sent before the SSLRequest is answered is reported as "server sent an error response during SSL exchange".
      expect(await stderrFor('prefer')).toMatch(/the gateway is at its limit of 1 connection\n/);
    } finally {
      await holder.end().catch(() => {});
      await limited.close();
    }
  });

  it('a clean Terminate ends the session and its upstream backend', async () => {
    const client = await rawSession(gw.port, healthToken);
    expect(await upstreamBackends()).toBe(1);
    client.write(encodeTerminate());
    expect(await client.waitClosed(2000)).toBe(true);
    await expect.poll(upstreamBackends, { timeout: 3000, interval: 20 }).toBe(0);
  });
  it('after all of the above the gateway still serves, and no upstream connection is left behind', async () => {
    await assertHealthy();
    await assertHealthy(tlsGw, await tlsGw.issue());
    await expect.poll(upstreamBackends, { timeout: 5000, interval: 50 }).toBe(0);
    expect(gw.gateway.sessions.size).toBe(0);
  });
});
