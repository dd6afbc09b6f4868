/**
 * Applies a session's masking to what the upstream sends back, before anything else in the relay sees
 * it. It follows both directions of the extended protocol the way the server does — what was sent
 * (Query, Parse, Bind, Describe, Execute, Close, Sync) and what the server confirmed (ParseComplete,
 * BindComplete, errors that skip to Sync) — so it always knows which statement's rows are streaming
 * and in which formats. Where the agent executes a portal it never described, it asks the server for
 * the description itself (an extra Describe whose answer the agent never sees).
 *
 * Rows of results that need no masking, and all other messages, leave as the original bytes.
 */

import { decodeNoticeFields } from '../../wire/postgres/backend-decoders.js';
import { MalformedMessageError } from '../../wire/postgres/body-reader.js';
import {
  decodeBind,
  decodeExecute,
  decodeParse,
  decodeQuery,
  decodeTargetName,
} from '../../wire/postgres/frontend-decoders.js';
import { type Frame, MessageFramer } from '../../wire/postgres/message-framer.js';
import { encodeMessage } from '../../wire/postgres/message-writer.js';
import { Backend, Frontend } from '../../wire/postgres/protocol-constants.js';
import {
  decodeCopyOutResponse,
  decodeNotification,
  decodeRowDescription,
  encodeNoticeFields,
  encodeNotification,
  maskDataRowInto,
  type RowDescriptionField,
} from '../../wire/postgres/result-messages.js';
import { RewrittenChunk } from '../../wire/postgres/rewritten-chunk.js';
import type { ResultColumn, ResultPlan, SessionResultMasking } from '../result-masking.js';
import { CopyRowRewriter } from './copy-row-rewriter.js';
import { serverNameKey } from './statement-tracker.js';

/** The server's stream no longer matches what the gateway sent: the session cannot be masked safely. */
export class ResultStreamDesyncError extends Error {
  constructor(what: string) {
    super(`result masking lost track of the upstream stream: ${what}`);
    this.name = 'ResultStreamDesyncError';
  }
}

/** Something sent upstream that the server will answer, in order. */
type Expected =
  | {
      kind: 'query';
      readonly sql: string;
      index: number;
      plan: ResultPlan | undefined;
      copy: CopyRowRewriter | undefined;
    }
  | { kind: 'parse'; readonly name: string; readonly sql: string }
  | {
      kind: 'bind';
      readonly portal: string;
      readonly statement: string;
      readonly formats: readonly (0 | 1)[];
    }
  | { kind: 'describe'; readonly target: 'S' | 'P'; readonly name: string; readonly hidden: boolean }
  | {
      kind: 'execute';
      readonly portal: string;
      plan: ResultPlan | undefined | null;
      copy: CopyRowRewriter | undefined;
    }
  | { kind: 'close'; readonly target: 'S' | 'P'; readonly name: string }
  | { kind: 'sync' }
  | { kind: 'function-call' };

/** A portal the server confirmed: the SQL it runs and, once described, its result columns. */
interface Portal {
  readonly sql: string | undefined;
  description: readonly RowDescriptionField[] | undefined;
}

/** What the gateway sends upstream is already bounded by the relay (limits.max_message_size). */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;
/** Bound on messages sent and not yet answered; past it the session is ended rather than tracked loosely. */
const MAX_EXPECTED = 100_000;

export class ResultMasker {
  /** The start of a message that has not fully arrived, and how long it is once its header is known. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private heldNeeds = 0;
  private readonly outgoingFramer = new MessageFramer(UNBOUNDED);
  private readonly expected: Expected[] = [];
  private head = 0;
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, Portal>();
  /** Portals described (by the agent or by us) since they were last bound, on the sending side. */
  private readonly describedSinceBind = new Set<string>();

  constructor(private readonly masking: SessionResultMasking) {}

  // ---- gateway → upstream ---------------------------------------------------------------------

  /** Notes what is being sent upstream; returns the bytes to send (with any Describe added). */
  outgoing(bytes: Buffer): Buffer {
    const frames = this.outgoingFramer.push(bytes);
    if (this.outgoingFramer.bufferedBytes > 0) {
      throw new ResultStreamDesyncError('a partial message was sent upstream');
    }
    let added: Buffer[] | undefined;
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      const describe = this.noteSent(frame);
      if (describe !== undefined) {
        added ??= frames.slice(0, i).map((f) => f.raw);
        added.push(describe);
      }
      added?.push(frame.raw);
    }
    if (this.pendingCount() > MAX_EXPECTED) {
      throw new ResultStreamDesyncError(`more than ${MAX_EXPECTED} messages await an answer`);
    }
    return added === undefined ? bytes : Buffer.concat(added);
  }

  /** Returns the Describe to send before `frame`, if it is an Execute of a portal never described. */
  private noteSent(frame: Frame): Buffer | undefined {
    switch (frame.type) {
      case Frontend.Query:
        this.expect({
          kind: 'query',
          sql: decodeQuery(frame.body),
          index: 0,
          plan: undefined,
          copy: undefined,
        });
        return undefined;
      case Frontend.Parse: {
        const parse = decodeParse(frame.body);
        this.expect({ kind: 'parse', name: serverNameKey(parse.statementName), sql: parse.sql });
        return undefined;
      }
      case Frontend.Bind: {
        const bind = decodeBind(frame.body);
        const portal = serverNameKey(bind.portalName);
        this.describedSinceBind.delete(portal);
        this.expect({
          kind: 'bind',
          portal,
          statement: serverNameKey(bind.statementName),
          formats: bind.resultFormats,
        });
        return undefined;
      }
      case Frontend.Describe: {
        const { target, name } = decodeTargetName(frame.body, 'Describe');
        const key = serverNameKey(name);
        if (target === 'P') this.describedSinceBind.add(key);
        this.expect({ kind: 'describe', target, name: key, hidden: false });
        return undefined;
      }
      case Frontend.Execute: {
        const portal = serverNameKey(decodeExecute(frame.body).portalName);
        let describe: Buffer | undefined;
        if (!this.describedSinceBind.has(portal)) {
          this.describedSinceBind.add(portal);
          this.expect({ kind: 'describe', target: 'P', name: portal, hidden: true });
          describe = encodeDescribePortal(frame);
        }
        this.expect({ kind: 'execute', portal, plan: null, copy: undefined });
        return describe;
      }
      case Frontend.Close: {
        const { target, name } = decodeTargetName(frame.body, 'Close');
        const key = serverNameKey(name);
        if (target === 'P') this.describedSinceBind.delete(key);
        this.expect({ kind: 'close', target, name: key });
        return undefined;
      }
      case Frontend.Sync:
        this.expect({ kind: 'sync' });
        return undefined;
      case Frontend.FunctionCall:
        this.expect({ kind: 'function-call' });
        return undefined;
      default:
        // Flush, COPY data and Terminate are answered by nothing of their own.
        return undefined;
    }
  }

  // ---- upstream → agent -----------------------------------------------------------------------

  /** Rewrites what the upstream sent; returns the bytes for the agent (possibly empty, never reordered). */
  incoming(chunk: Buffer): Buffer {
    let data = chunk;
    if (this.heldBytes > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldNeeds === 0 && this.heldBytes >= 5) {
        const head = Buffer.concat(this.held, this.heldBytes);
        this.held = [head];
        this.heldNeeds = 1 + messageLength(head, 0);
      }
      if (this.heldNeeds === 0 || this.heldBytes < this.heldNeeds) return EMPTY;
      data = Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
      this.heldNeeds = 0;
    }
    // Walks the messages in place: untouched stretches are copied once, rewritten rows written
    // between them into one buffer for the chunk (or `data` itself passed on when nothing changed).
    const out = new RewrittenChunk(data);
    let offset = 0;
    while (data.length - offset >= 5) {
      const end = offset + 1 + messageLength(data, offset);
      if (end > data.length) break;
      const type = data[offset];
      if (type === Backend.DataRow) {
        const plan = this.rowsPlan();
        if (plan !== undefined) maskDataRowInto(data, offset, end, plan.columns, out);
      } else if (type === Backend.CopyData) {
        this.copyData(data, offset, end, out);
      } else {
        const raw = data.subarray(offset, end);
        const replacement = this.received(frameOf(raw));
        if (replacement !== raw) out.replace(offset, end, replacement);
      }
      offset = end;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.held = [rest];
      this.heldBytes = rest.length;
      this.heldNeeds = rest.length >= 5 ? 1 + messageLength(rest, 0) : 0;
    }
    return out.result(offset);
  }

  /** The message to pass on for `frame`: its raw bytes, a rewritten message, or null to hide it. */
  private received(frame: Frame): Buffer | null {
    switch (frame.type) {
      case Backend.DataRow:
      case Backend.CopyData:
        // Rows take the path in `incoming`; one arriving here would otherwise pass unmasked.
        throw new ResultStreamDesyncError('a row outside the row path');
      case Backend.RowDescription:
        return this.rowDescription(frame);
      case Backend.NoData:
        return this.noData(frame);
      case Backend.ParameterDescription:
        return this.describeHidden() ? null : frame.raw;
      case Backend.ParseComplete: {
        const parse = this.take('parse');
        // The server refuses a named statement that exists and would have sent an error instead.
        this.statements.set(parse.name, parse.sql);
        return frame.raw;
      }
      case Backend.BindComplete: {
        const bind = this.take('bind');
        this.portals.set(bind.portal, { sql: this.statements.get(bind.statement), description: undefined });
        return frame.raw;
      }
      case Backend.CloseComplete: {
        const close = this.take('close');
        (close.target === 'S' ? this.statements : this.portals).delete(close.name);
        return frame.raw;
      }
      case Backend.CommandComplete:
      case Backend.EmptyQueryResponse:
      case Backend.PortalSuspended:
        this.statementEnded();
        return frame.raw;
      case Backend.CopyOutResponse:
      case Backend.CopyBothResponse:
        this.copyStarted(frame);
        return frame.raw;
      case Backend.ErrorResponse:
        this.failed();
        return this.scrubbed(frame);
      case Backend.NoticeResponse:
        return this.scrubbed(frame);
      case Backend.NotificationResponse: {
        // A NOTIFY payload can carry data too (a trigger, another session): scrubbed like error text.
        const { processId, channel, payload } = decodeNotification(frame.body);
        const clean = this.masking.scrubText(payload);
        return clean === payload ? frame.raw : encodeNotification(processId, channel, clean);
      }
      case Backend.ReadyForQuery: {
        const answered = this.current();
        if (answered?.kind !== 'query' && answered?.kind !== 'sync' && answered?.kind !== 'function-call') {
          throw new ResultStreamDesyncError(`ReadyForQuery while expecting ${answered?.kind ?? 'nothing'}`);
        }
        this.pop();
        return frame.raw;
      }
      default:
        return frame.raw;
    }
  }

  private rowDescription(frame: Frame): Buffer | null {
    const head = this.current();
    if (head?.kind === 'describe') {
      this.pop();
      if (head.target === 'P') {
        const portal = this.portals.get(head.name);
        if (portal !== undefined) portal.description = decodeRowDescription(frame.body);
      }
      return head.hidden ? null : frame.raw;
    }
    if (head?.kind === 'query') {
      head.plan = this.masking.planRows(head.sql, head.index, decodeRowDescription(frame.body).map(toColumn));
      return frame.raw;
    }
    throw new ResultStreamDesyncError(`RowDescription while expecting ${head?.kind ?? 'nothing'}`);
  }

  private noData(frame: Frame): Buffer | null {
    const head = this.take('describe');
    if (head.target === 'P') {
      const portal = this.portals.get(head.name);
      if (portal !== undefined) portal.description = [];
    }
    return head.hidden ? null : frame.raw;
  }

  private describeHidden(): boolean {
    const head = this.current();
    return head?.kind === 'describe' && head.hidden;
  }

  /** The plan for the rows streaming now (an Execute's is made at its first row). */
  private rowsPlan(): ResultPlan | undefined {
    const head = this.current();
    if (head?.kind === 'query') return head.plan;
    if (head?.kind !== 'execute')
      throw new ResultStreamDesyncError(`DataRow while expecting ${head?.kind ?? 'nothing'}`);
    if (head.plan === null) {
      const portal = this.portals.get(head.portal);
      if (portal?.sql === undefined || portal.description === undefined) {
        throw new ResultStreamDesyncError('rows of a portal whose statement or description is unknown');
      }
      head.plan = this.masking.planRows(portal.sql, 0, portal.description.map(toColumn));
    }
    return head.plan;
  }

  private copyStarted(frame: Frame): void {
    const head = this.current();
    const { format, columnFormats } = decodeCopyOutResponse(frame.body);
    const sql =
      head?.kind === 'query'
        ? head.sql
        : head?.kind === 'execute'
          ? this.portals.get(head.portal)?.sql
          : undefined;
    if (sql === undefined || (head?.kind !== 'query' && head?.kind !== 'execute')) {
      throw new ResultStreamDesyncError('COPY output for no known statement');
    }
    const binary = format === 1;
    const plan = this.masking.planCopy(
      sql,
      head.kind === 'query' ? head.index : 0,
      columnFormats.length,
      binary,
    );
    if (plan !== undefined && binary)
      throw new ResultStreamDesyncError('binary COPY output cannot be masked');
    head.copy = plan === undefined ? undefined : new CopyRowRewriter(plan);
  }

  /** The CopyData message `data[start, end)`, its rows rewritten into `out` when the COPY is masked. */
  private copyData(data: Buffer, start: number, end: number, out: RewrittenChunk): void {
    const head = this.current();
    const copy = head?.kind === 'query' || head?.kind === 'execute' ? head.copy : undefined;
    if (copy === undefined || copy.rewriteMessage(data, start, end, out)) return;
    out.replace(start, end, encodeMessage(Backend.CopyData, copy.push(data.subarray(start + 5, end))));
  }

  /** CommandComplete, EmptyQueryResponse or PortalSuspended ended the current statement. */
  private statementEnded(): void {
    const head = this.current();
    if (head?.kind === 'query') {
      if (head.copy !== undefined) head.copy.end();
      head.index += 1;
      head.plan = undefined;
      head.copy = undefined;
      return;
    }
    if (head?.kind === 'execute') {
      head.copy?.end();
      this.pop();
      return;
    }
    throw new ResultStreamDesyncError(`a statement ended while expecting ${head?.kind ?? 'nothing'}`);
  }

  /** An ErrorResponse: a Query ends at its ReadyForQuery; in a batch the server skips to Sync. */
  private failed(): void {
    const head = this.current();
    if (head === undefined || head.kind === 'sync' || head.kind === 'function-call') return;
    if (head.kind === 'query') {
      head.plan = undefined;
      head.copy = undefined;
      return;
    }
    while (this.current() !== undefined && this.current()!.kind !== 'sync') this.pop();
  }

  private scrubbed(frame: Frame): Buffer {
    const fields = decodeNoticeFields(frame.body);
    let changed = false;
    const scrubbed = fields.map(([code, text]): [string, string] => {
      // Severity, SQLSTATE, positions and source locations carry no data values.
      if ('SVCPpFLR'.includes(code)) return [code, text];
      const clean = this.masking.scrubText(text);
      if (clean !== text) changed = true;
      return [code, clean];
    });
    return changed ? encodeNoticeFields(frame.type, scrubbed) : frame.raw;
  }

  // ---- the queue of expected answers ----------------------------------------------------------

  private expect(entry: Expected): void {
    this.expected.push(entry);
  }

  private current(): Expected | undefined {
    return this.expected[this.head];
  }

  private pop(): void {
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.expected.length) {
      this.expected.splice(0, this.head);
      this.head = 0;
    }
  }

  private pendingCount(): number {
    return this.expected.length - this.head;
  }

  private take<K extends Expected['kind']>(kind: K): Extract<Expected, { kind: K }> {
    const head = this.current();
    if (head?.kind !== kind) {
      throw new ResultStreamDesyncError(
        `expected an answer to ${head?.kind ?? 'nothing'}, got one to ${kind}`,
      );
    }
    this.pop();
    return head as Extract<Expected, { kind: K }>;
  }
}

const EMPTY = Buffer.alloc(0);

/** The length field of the message at `offset` (type byte + length ≥ 4). */
function messageLength(data: Buffer, offset: number): number {
  const length = data.readInt32BE(offset + 1);
  if (length < 4) throw new ResultStreamDesyncError(`the upstream sent a message length of ${length}`);
  return length;
}

function frameOf(raw: Buffer): Frame {
  return { type: raw[0]!, body: raw.subarray(5), raw };
}

function toColumn(field: RowDescriptionField): ResultColumn {
  return {
    name: field.name,
    tableOid: field.tableOid,
    attnum: field.attnum,
    typeOid: field.typeOid,
    format: field.format === 1 ? 'binary' : 'text',
  };
}

/** Describe ('D') of the portal an Execute runs, named with the Execute's own bytes. */
function encodeDescribePortal(execute: Frame): Buffer {
  const end = execute.body.indexOf(0);
  if (end < 0) throw new MalformedMessageError('Execute: unterminated portal name');
  return encodeMessage(
    Frontend.Describe,
    Buffer.concat([Buffer.from('P', 'latin1'), execute.body.subarray(0, end + 1)]),
  );
}
