/**
 * A raw-wire PostgreSQL client for e2e tests: frontend messages written by hand, backend messages
 * summarised as short strings, and a session that either lets node-postgres log in and then takes over
 * its socket, or logs in itself (SCRAM) with exactly the startup parameters a test chooses.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { ScramClientSession } from '../../src/wire/postgres/scram.js';

// ---- frontend messages, written by hand --------------------------------------------------------

/** A typed message: type byte, Int32 length (body + 4), body. */
export function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
export const cstring = (text: string): Buffer => Buffer.from(`${text}\0`, 'utf8');
export const int16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
export const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
};

type Param = Buffer | string | null;

/** Frontend message builders. */
export const fe = {
  query: (sql: string) => message('Q', cstring(sql)),
  parse: (name: string, sql: string, types: number[] = []) =>
    message('P', cstring(name), cstring(sql), int16(types.length), ...types.map(int32)),
  bind: (
    portal: string,
    statement: string,
    params: Param[] = [],
    formats: number[] = [],
    results: number[] = [],
  ) =>
    message(
      'B',
      cstring(portal),
      cstring(statement),
      int16(formats.length),
      ...formats.map(int16),
      int16(params.length),
      ...params.flatMap((p) => {
        if (p === null) return [int32(-1)];
        const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
        return [int32(bytes.length), bytes];
      }),
      int16(results.length),
      ...results.map(int16),
    ),
  describe: (kind: 'S' | 'P', name: string) => message('D', Buffer.from(kind), cstring(name)),
  execute: (portal: string, maxRows = 0) => message('E', cstring(portal), int32(maxRows)),
  close: (kind: 'S' | 'P', name: string) => message('C', Buffer.from(kind), cstring(name)),
  sync: () => message('S'),
  flush: () => message('H'),
  copyData: (data: string) => message('d', Buffer.from(data, 'utf8')),
  copyDone: () => message('c'),
  copyFail: (reason: string) => message('f', cstring(reason)),
  /** FunctionCall ('F') with text arguments and a text result. */
  functionCall: (oid: number, args: string[] = []) =>
    message(
      'F',
      int32(oid),
      int16(0),
      int16(args.length),
      ...args.flatMap((a) => [int32(Buffer.byteLength(a)), Buffer.from(a, 'utf8')]),
      int16(0),
    ),
  terminate: () => message('X'),
};

/** A StartupMessage (protocol 3.0) with exactly these parameters, in this order. */
export function startupPacket(parameters: readonly (readonly [string, string])[]): Buffer {
  const body = Buffer.concat([
    int32(196608),
    ...parameters.flatMap(([k, v]) => [cstring(k), cstring(v)]),
    Buffer.from([0]),
  ]);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** A CancelRequest for (processId, secretKey). */
export function cancelRequest(processId: number, secretKey: number): Buffer {
  return Buffer.concat([int32(16), int32(80877102), int32(processId), int32(secretKey)]);
}

// ---- backend messages, summarised as short strings ---------------------------------------------

export interface BackendMessage {
  readonly type: string;
  readonly body: Buffer;
}

function cstrings(body: Buffer, offset: number, count: number): { values: string[]; offset: number } {
  const values: string[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    const end = body.indexOf(0, at);
    values.push(body.toString('utf8', at, end));
    at = end + 1;
  }
  return { values, offset: at };
}

/** The fields of an ErrorResponse or NoticeResponse by their code letter (S, C, M, H, …). */
export function errorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at]!);
    const end = body.indexOf(0, at + 1);
    fields.set(code, body.toString('utf8', at + 1, end));
    at = end + 1;
  }
  return fields;
}

/** The column values of a DataRow (null for SQL NULL). */
export function dataRow(body: Buffer): (Buffer | null)[] {
  const count = body.readInt16BE(0);
  const values: (Buffer | null)[] = [];
  let at = 2;
  for (let i = 0; i < count; i++) {
    const length = body.readInt32BE(at);
    at += 4;
    if (length === -1) values.push(null);
    else {
      values.push(body.subarray(at, at + length));
      at += length;
    }
  }
  return values;
}

/** e.g. `1` ParseComplete, `D(42,x)` DataRow, `C(SELECT 1)`, `E(22012)`, `Z(I)`, `T(n:23,t:25)`, `t(23,25)`. */
export function summarise(m: BackendMessage): string {
  switch (m.type) {
    case 'D':
      return `D(${dataRow(m.body)
        .map((v) => (v === null ? 'NULL' : v.toString('utf8')))
        .join(',')})`;
    case 'C':
      return `C(${m.body.toString('utf8', 0, m.body.length - 1)})`;
    case 'E':
    case 'N':
      return `${m.type}(${errorFields(m.body).get('C')})`;
    case 'Z':
      return `Z(${m.body.toString('latin1')})`;
    case 'T': {
      const count = m.body.readInt16BE(0);
      const columns: string[] = [];
      let at = 2;
      for (let i = 0; i < count; i++) {
        const { values, offset } = cstrings(m.body, at, 1);
        columns.push(`${values[0]}:${m.body.readInt32BE(offset + 6)}`);
        at = offset + 18;
      }
      return `T(${columns.join(',')})`;
    }
    case 't': {
      const count = m.body.readInt16BE(0);
      return `t(${Array.from({ length: count }, (_, i) => m.body.readInt32BE(2 + 4 * i)).join(',')})`;
    }
    default:
      return m.type;
  }
}

/** Where and as whom {@link RawSession.login} connects. */
export interface RawLogin {
  readonly host: string;
  readonly port: number;
  /** Startup parameters, sent exactly as given (user and database included). */
  readonly parameters: readonly (readonly [string, string])[];
  /** The SCRAM password (a token secret through the gateway). */
  readonly password: string;
}

/**
 * A session whose socket the test drives by hand: every backend message lands in its inbox, and every
 * byte received is kept in `received` (to prove something never reached the client).
 */
export class RawSession {
  private pending = Buffer.alloc(0);
  private readonly inbox: BackendMessage[] = [];
  private readonly chunks: Buffer[] = [];
  private wake: (() => void) | null = null;
  closed = false;
  /** BackendKeyData seen during a hand-driven login. */
  backendKey: { processId: number; secretKey: number } | null = null;

  private constructor(private readonly socket: Duplex) {
    socket.removeAllListeners('data');
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      let data = Buffer.concat([this.pending, chunk]);
      while (data.length >= 5) {
        const length = data.readInt32BE(1);
        if (data.length < length + 1) break;
        this.inbox.push({
          type: String.fromCharCode(data[0]!),
          body: Buffer.from(data.subarray(5, length + 1)),
        });
        data = data.subarray(length + 1);
      }
      this.pending = Buffer.from(data);
      this.wake?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  /** Lets node-postgres authenticate, then detaches its reader: every later message lands here. */
  static async open(config: pg.ClientConfig): Promise<RawSession> {
    const client = new pg.Client(config);
    client.on('error', () => {});
    await client.connect();
    return new RawSession(client.connection.stream);
  }

  /**
   * Connects and sends a StartupMessage with exactly `login.parameters`, answering SCRAM-SHA-256 by hand.
   * Resolves with the messages up to ReadyForQuery, or up to the ErrorResponse that refused the login.
   */
  static async login(login: RawLogin): Promise<{ session: RawSession; startup: BackendMessage[] }> {
    const socket = net.connect({ host: login.host, port: login.port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    const session = new RawSession(socket);
    session.send(startupPacket(login.parameters));
    const startup: BackendMessage[] = [];
    let scram: ScramClientSession | null = null;
    for (;;) {
      const [m] = await session.read(() => true);
      startup.push(m!);
      if (m!.type === 'E' || m!.type === 'Z') return { session, startup };
      if (m!.type === 'K') {
        session.backendKey = { processId: m!.body.readInt32BE(0), secretKey: m!.body.readInt32BE(4) };
      }
      if (m!.type !== 'R') continue;
      const code = m!.body.readInt32BE(0);
      const data = m!.body.subarray(4);
      if (code === 10) {
        scram = new ScramClientSession(login.password);
        const first = scram.clientFirst();
        session.send(message('p', cstring('SCRAM-SHA-256'), int32(first.length), first));
      } else if (code === 11) {
        session.send(message('p', scram!.handleServerFirst(data)));
      } else if (code === 12) {
        scram!.verifyServerFinal(data);
      } else if (code !== 0) {
        throw new Error(`unexpected authentication request ${code}`);
      }
    }
  }

  /** Every byte received on this socket since the session took it over. */
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  send(...messages: Buffer[]): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(Buffer.concat(messages));
  }

  /** Writes `bytes` in small random slices, so every message straddles TCP segments. */
  async sendInSlices(bytes: Buffer): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      const size = 1 + Math.floor(Math.random() * 7);
      this.socket.write(bytes.subarray(at, at + size));
      at += size;
      if (Math.random() < 0.05) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Messages up to and including the first one `until` accepts. */
  async read(until: (m: BackendMessage) => boolean, timeoutMs = 10_000): Promise<BackendMessage[]> {
    const deadline = Date.now() + timeoutMs;
    const out: BackendMessage[] = [];
    for (;;) {
      while (this.inbox.length > 0) {
        const m = this.inbox.shift()!;
        out.push(m);
        if (until(m)) return out;
      }
      if (this.closed) throw new Error(`connection closed; got ${out.map(summarise).join(' ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${out.map(summarise).join(' ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Summaries of every message up to the `count`-th ReadyForQuery. */
  async untilReady(count = 1, timeoutMs?: number): Promise<string[]> {
    let seen = 0;
    const messages = await this.read((m) => m.type === 'Z' && ++seen === count, timeoutMs);
    return messages.map(summarise);
  }

  /** Summaries of every message until the gateway closes the connection (throws if it stays open). */
  async untilClosed(timeoutMs = 5_000): Promise<string[]> {
    const out: string[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const [m] = await this.read(() => true, Math.max(1, deadline - Date.now()));
        out.push(summarise(m!));
      } catch (error) {
        if (this.closed && this.inbox.length === 0) return out;
        throw error;
      }
    }
  }

  /** Terminate and close; a gateway that stops reading us cannot hold this up for more than a second. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.socket.end(message('X'));
    await this.read(() => false, 1_000).catch(() => {});
    this.socket.destroy();
  }
}
