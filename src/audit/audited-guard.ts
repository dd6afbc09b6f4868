/**
 * Write-ahead statement audit around any guard: every statement that will run is recorded durably
 * (`statement.decided`) before the relay may forward it, and a statement whose record cannot be
 * written is refused instead. Refusals are recorded too, and each statement that ran gets a
 * `statement.finished` event (command tags, rows, duration, SQLSTATE) once the upstream answered.
 */

import type {
  BatchContext,
  BatchResult,
  Guard,
  GuardBatch,
  GuardVerdict,
  SessionGuard,
  SessionIdentity,
  StatementDecision,
  StatementOutcome,
} from '../proxy/guard.js';
import { refuseUnapproved, thenVerdict } from '../proxy/guard.js';
import type { SessionResultMasking } from '../proxy/result-masking.js';
import type { AuditEventBody, ChainedAuditEvent, JsonValue } from './audit-event.js';

/** What the audited guard needs from the audit log (AuditLog satisfies it). */
export interface AuditRecorder {
  /** `defer`: nothing waits on this event; it may join the next commit instead of starting one. */
  record(
    body: Omit<AuditEventBody, 'at'>,
    options?: { defer?: boolean },
  ): Promise<Pick<ChainedAuditEvent, 'seq'>>;
}

/** Where a failed background write is reported (never with statement text or values). */
export type AuditFailureReporter = (error: unknown, event: AuditEventBody['kind'], sessionId: string) => void;

/** SQLSTATE of a statement refused because its audit record could not be written (io_error). */
export const AUDIT_UNAVAILABLE_SQLSTATE = '58030';

/** Wraps `inner` so that every session's statements are recorded as described above. */
export function auditedGuard(inner: Guard, audit: AuditRecorder, onFailure: AuditFailureReporter): Guard {
  return {
    openSession(identity: SessionIdentity): SessionGuard {
      return new AuditedSessionGuard(inner.openSession(identity), identity, audit, onFailure);
    },
  };
}

class AuditedSessionGuard implements SessionGuard {
  readonly upstreamParameters: Readonly<Record<string, string>>;
  readonly resultMasking: SessionResultMasking | undefined;
  /** Numbers this session's recorded statements: 1, 2, 3 … */
  private statementCount = 0;
  private readonly context: Pick<AuditEventBody, 'who' | 'why' | 'where'>;

  constructor(
    private readonly inner: SessionGuard,
    private readonly identity: SessionIdentity,
    private readonly audit: AuditRecorder,
    private readonly onFailure: AuditFailureReporter,
  ) {
    this.upstreamParameters = inner.upstreamParameters;
    this.resultMasking = inner.resultMasking;
    // Frozen: the same parts go into every event of the session, so their canonical text is written once.
    this.context = {
      who: Object.freeze({ tokenId: identity.tokenId, subject: identity.subject, role: identity.role }),
      why: Object.freeze({ reason: identity.reason, runId: identity.runId }),
      where: Object.freeze({
        sessionId: identity.sessionId,
        client: identity.clientAddress,
        upstream: identity.upstream,
      }),
    };
  }

  checkBatch(batch: GuardBatch, context?: BatchContext): GuardVerdict | Promise<GuardVerdict> {
    return thenVerdict(this.inner.checkBatch(batch, context), (verdict) => this.recorded(verdict, batch));
  }

  close(): void {
    this.inner.close();
  }

  private recorded(given: GuardVerdict, batch: GuardBatch): GuardVerdict | Promise<GuardVerdict> {
    // The approval guard sits inside this one; a batch still needing approval here has nobody to approve it.
    const verdict = given.action === 'approve' ? refuseUnapproved(given) : given;
    const statements = verdict.statements ?? fromBatch(verdict, batch);
    if (verdict.action === 'deny') {
      // Nothing runs: the refusal is recorded without holding the agent's answer.
      for (const statement of statements) {
        const body = this.decidedBody(statement, ++this.statementCount, verdict.sqlState ?? '42501');
        this.recordInBackground(body, false);
      }
      return verdict;
    }
    // A batch that only prepares (Parse, Describe) runs nothing; there is nothing to record ahead of it.
    if (statements.length === 0) return verdict;
    const numbers = statements.map(() => ++this.statementCount);
    const writes = statements.map((statement, i) =>
      this.audit.record(this.decidedBody(statement, numbers[i]!)),
    );
    return Promise.all(writes).then(
      (events): GuardVerdict => ({
        ...verdict,
        action: 'allow',
        statements,
        finished: (result) =>
          this.recordFinished(
            result,
            statements,
            numbers,
            events.map((e) => e.seq),
          ),
      }),
      (error: unknown): GuardVerdict => {
        this.onFailure(error, 'statement.decided', this.identity.sessionId);
        return {
          action: 'deny',
          sqlState: AUDIT_UNAVAILABLE_SQLSTATE,
          message: 'airlock audit: the statement could not be recorded in the audit trail, so it was not run',
          hint: `Airlock never runs a statement it cannot record. Retry later, or give the operator session id ${this.identity.sessionId}.`,
        };
      },
    );
  }

  /** Records an event nothing waits on; a failed write is reported, never thrown. */
  private recordInBackground(body: Omit<AuditEventBody, 'at'>, defer: boolean): void {
    this.audit
      .record(body, { defer })
      .catch((error: unknown) => this.onFailure(error, body.kind, this.identity.sessionId));
  }

  private decidedBody(
    statement: StatementDecision,
    number: number,
    sqlState?: string,
  ): Omit<AuditEventBody, 'at'> {
    const { tables, accesses } = auditedAccesses(statement.accesses);
    const what: Record<string, JsonValue> = {
      statement: number,
      sql: statement.sql,
      via: statement.via,
      decision: statement.decision,
      // A frozen array is the policy's cached one: passed as is, its text is written once.
      rules: (Object.isFrozen(statement.rules) ? statement.rules : [...statement.rules]) as JsonValue[],
      tables,
      accesses,
    };
    if (statement.params !== undefined) what.params = [...statement.params];
    if (statement.approvalId !== undefined) what.approvalId = statement.approvalId;
    if (sqlState !== undefined) what.sqlState = sqlState;
    return { kind: 'statement.decided', ...this.context, what };
  }

  private recordFinished(
    result: BatchResult,
    statements: readonly StatementDecision[],
    numbers: readonly number[],
    decidedSeqs: readonly number[],
  ): void {
    // A Query is one statement message whatever it holds; each Execute of a batch has one outcome.
    const perStatement: StatementOutcome[][] =
      statements.length === 1 && statements[0]!.via === 'simple-query'
        ? [[...result.outcomes]]
        : statements.map((_, i) => {
            const outcome = result.outcomes[i];
            return outcome === undefined ? [] : [outcome];
          });
    const bodies = statements.map(
      (_, i): Omit<AuditEventBody, 'at'> => ({
        kind: 'statement.finished',
        ...this.context,
        what: finishedWhat(numbers[i]!, decidedSeqs[i]!, perStatement[i]!, result.forwardedAtMs),
      }),
    );
    // The relay calls this while it reads the answer, before passing it on: serializing the events
    // waits until the agent has it (nothing waits on them; they join the next commit).
    queueMicrotask(() => {
      for (const body of bodies) this.recordInBackground(body, true);
    });
  }
}

type Accesses = StatementDecision['accesses'];

/** The tables and accesses of a statement as recorded; frozen, so their canonical text is written once. */
interface AuditedAccesses {
  readonly tables: JsonValue[];
  readonly accesses: JsonValue[];
}

/** Projections of the policy's cached (deeply frozen) access lists, so each is built once. */
const projections = new WeakMap<Accesses, AuditedAccesses>();

function auditedAccesses(given: Accesses): AuditedAccesses {
  const cached = projections.get(given);
  if (cached !== undefined) return cached;
  const projected: AuditedAccesses = {
    tables: [...new Set(given.map((a) => a.table))],
    accesses: given.map((a) => ({ table: a.table, operation: a.operation })),
  };
  // Only a list that can never change may be remembered (the policy's summaries are frozen).
  if (!Object.isFrozen(given) || !given.every((a) => Object.isFrozen(a))) return projected;
  const frozen: AuditedAccesses = {
    tables: Object.freeze(projected.tables) as JsonValue[],
    accesses: Object.freeze(projected.accesses.map((a) => Object.freeze(a))) as JsonValue[],
  };
  projections.set(given, frozen);
  return frozen;
}

/** Statements to record when the inner guard gave none: what the batch would run (or the refused batch). */
function fromBatch(verdict: GuardVerdict, batch: GuardBatch): StatementDecision[] {
  const decision = verdict.action === 'deny' ? 'deny' : 'allow';
  return batch.statements
    .filter(
      (s) =>
        decision === 'deny' || s.via === 'simple-query' || s.via === 'execute' || s.via === 'function-call',
    )
    .map((s) => ({
      sql: s.sql,
      via: s.via,
      decision,
      rules: [],
      accesses: [],
      ...(s.params === undefined ? {} : { params: s.params }),
    }));
}

/** At most this many command tags are recorded per statement message (rows still count them all). */
const RECORDED_TAGS = 100;

/** Command tags that end with the number of rows the command returned or changed. */
const COUNTED_COMMAND = /^(?:SELECT|INSERT \d+|UPDATE|DELETE|MERGE|COPY|FETCH|MOVE) (\d+)$/;

function finishedWhat(
  statement: number,
  decidedSeq: number,
  outcomes: readonly StatementOutcome[],
  forwardedAtMs: number,
): Record<string, JsonValue> {
  const what: Record<string, JsonValue> = { statement, decidedSeq };
  const last = outcomes[outcomes.length - 1];
  if (last === undefined) {
    // The upstream skipped it: an earlier statement of the same batch failed.
    what.outcome = 'not-run';
    return what;
  }
  const tags: string[] = [];
  let rows: number | undefined;
  for (const outcome of outcomes) {
    if (outcome.kind !== 'complete') continue;
    tags.push(outcome.tag);
    const counted = COUNTED_COMMAND.exec(outcome.tag);
    if (counted !== null) rows = (rows ?? 0) + Number(counted[1]);
  }
  what.outcome = last.kind === 'error' ? 'error' : last.kind === 'suspended' ? 'suspended' : 'ok';
  if (last.kind === 'error') what.sqlState = last.sqlState;
  if (tags.length > RECORDED_TAGS) {
    // A Query of thousands of statements: the first tags, and how many there were.
    what.commandCount = tags.length;
    what.commandTags = tags.slice(0, RECORDED_TAGS);
  } else if (tags.length > 0) {
    what.commandTags = tags;
  }
  if (rows !== undefined && Number.isSafeInteger(rows)) what.rows = rows;
  what.durationUs = Math.max(0, Math.round((last.atMs - forwardedAtMs) * 1000));
  return what;
}
