/**
 * The gateway's own connection to an upstream (never an agent's session), for its own questions: catalog
 * reads for masking, plan estimates for approvals. Opened on first use, one exchange at a time, reopened
 * after a failure; every wait and every answer is bounded.
 */
import type { UpstreamConfig } from '../../config/config-types.js';
import { decodeErrorFields } from '../../wire/postgres/backend-decoders.js';
import { type Frame, MessageFramer } from '../../wire/postgres/message-framer.js';
import { Backend } from '../../wire/postgres/protocol-constants.js';
import { decodeDataRow } from '../../wire/postgres/result-messages.js';
import { connectUpstream, type UpstreamSession } from './upstream-connection.js';

/** Bound on the answer to one exchange. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export class SideConnectionError extends Error {
  constructor(what: string, detail: string) {
    super(`${what} failed: ${detail}`);
    this.name = 'SideConnectionError';
  }
}

/** What came back for one exchange: the rows (as text) and the first error, if any. */
export interface SideAnswer {
  readonly rows: (string | null)[][];
  /** `SQLSTATE message` of the first ErrorResponse. */
  readonly error: string | undefined;
}

export class SideConnection {
  private session: Promise<UpstreamSession> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** `what` names the connection in errors and in the upstream's `application_name` (airlock:<what>). */
  constructor(
    private readonly upstream: UpstreamConfig,
    private readonly what: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Sends `bytes` (whole protocol messages) and collects the answer up to the `readyCount`-th
   * ReadyForQuery. Exchanges run one after the other; a failed one drops the connection.
   */
  exchange(bytes: Buffer, readyCount: number): Promise<SideAnswer> {
    const run = this.queue.then(async () => {
      if (this.closed) throw new SideConnectionError(this.what, 'the gateway is shutting down');
      const session = await this.connect();
      try {
        return await exchangeOn(session, bytes, readyCount, this.timeoutMs, this.what);
      } catch (error) {
        // A connection in an unknown state is not reused.
        session.socket.destroy();
        this.session = undefined;
        throw error;
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  close(): void {
    this.closed = true;
    void this.session?.then(
      (session) => session.socket.destroy(),
      () => {},
    );
    this.session = undefined;
  }

  private connect(): Promise<UpstreamSession> {
    if (this.session !== undefined) return this.session;
    const opening = (async () => {
      const signal = AbortSignal.timeout(this.timeoutMs);
      const session = await connectUpstream(
        this.upstream,
        { application_name: `airlock:${this.what}` },
        signal,
      );
      session.socket.on('error', () => {});
      session.socket.on('close', () => {
        if (this.session === opening) this.session = undefined;
      });
      return session;
    })();
    this.session = opening;
    opening.catch(() => {
      if (this.session === opening) this.session = undefined;
    });
    return opening;
  }
}

function exchangeOn(
  session: UpstreamSession,
  bytes: Buffer,
  readyCount: number,
  timeoutMs: number,
  what: string,
): Promise<SideAnswer> {
  return new Promise((resolve, reject) => {
    const { socket } = session;
    const framer = new MessageFramer(MAX_ANSWER_BYTES);
    const rows: (string | null)[][] = [];
    let error: string | undefined;
    let readies = 0;
    const finish = (failure: Error | undefined) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (failure === undefined) resolve({ rows, error });
      else reject(failure);
    };
    const onFrame = (frame: Frame): boolean => {
      if (frame.type === Backend.DataRow) {
        rows.push(decodeDataRow(frame.body).map((value) => (value === null ? null : value.toString('utf8'))));
      } else if (frame.type === Backend.ErrorResponse && error === undefined) {
        const fields = decodeErrorFields(frame.body);
        error = `${fields.get('C') ?? '?'} ${fields.get('M') ?? ''}`;
      } else if (frame.type === Backend.ReadyForQuery && ++readies === readyCount) {
        finish(undefined);
        return true;
      }
      return false;
    };
    const onData = (chunk: Buffer) => {
      try {
        for (const frame of framer.push(chunk)) if (onFrame(frame)) return;
      } catch (failure) {
        finish(new SideConnectionError(what, String(failure)));
      }
    };
    const onClose = () => finish(new SideConnectionError(what, 'the connection closed'));
    const timer = setTimeout(
      () => finish(new SideConnectionError(what, `no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(bytes);
  });
}
