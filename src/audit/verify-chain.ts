/** Offline verification of an audit trail: every link, every checkpoint signature, the first break. */
import type { ChainedAuditEvent } from './audit-event.js';
import { type AuditCheckpoint, auditKeyId, verifyCheckpointSignature } from './checkpoint.js';
import { eventHash, genesisHash } from './hash-chain.js';

/** Why verification stopped. */
export type AuditBreakProblem =
  | 'hash-mismatch'
  | 'prev-hash-mismatch'
  | 'sequence-gap'
  | 'duplicate-sequence'
  | 'out-of-order'
  | 'bad-signature'
  | 'checkpoint-without-event'
  | 'checkpoint-mismatch'
  | 'unknown-key'
  | 'wrong-instance';

/** What a verifier learns from a trail. */
export interface VerifyReport {
  /** True when nothing is broken (an unverifiable tail alone does not make this false). */
  ok: boolean;
  /** Events whose seq, links and hash were checked and found intact. */
  checkedEvents: number;
  /** Highest seq covered by a valid checkpoint with an intact chain up to it (0 if none). */
  lastVerifiedSeq: number;
  /** The seq verification actually started at: `from` when anchored by a valid checkpoint, else 1. */
  startedAtSeq: number;
  firstBroken?: { seq: number; problem: AuditBreakProblem; detail: string };
  /** Intact events after the last valid checkpoint: no signature proves nothing was cut after them. */
  unverifiableTail?: { fromSeq: number; toSeq: number };
}

/** The trail to verify; `instance` defaults to that of the first validly signed checkpoint, else the first event. */
export interface VerifyInput {
  events: readonly ChainedAuditEvent[];
  checkpoints: readonly AuditCheckpoint[];
  publicKeyPem: string;
  instance?: string;
  from?: number;
}

interface Break {
  seq: number;
  problem: AuditBreakProblem;
  detail: string;
}

/**
 * Walks `events` in the order given (never sorted: a reordering must show) and reports the
 * first broken sequence number. Checkpoints are checked at the seq they cover, right after
 * that event. With `from`, verification starts at seq `from` and trusts that event's
 * prevHash only if a valid checkpoint covers seq `from - 1` (the event's prevHash must then
 * equal the checkpoint's headHash); otherwise `from` is ignored and the whole trail is
 * verified from seq 1 (see `startedAtSeq`).
 */
export function verifyAuditTrail(input: VerifyInput): VerifyReport {
  const { events, publicKeyPem } = input;
  const keyId = auditKeyId(publicKeyPem);
  const signatureValid = new Map<AuditCheckpoint, boolean>();
  const isValid = (c: AuditCheckpoint): boolean => {
    let valid = signatureValid.get(c);
    if (valid === undefined) {
      valid = verifyCheckpointSignature(c, publicKeyPem);
      signatureValid.set(c, valid);
    }
    return valid;
  };
  const instance =
    input.instance ?? input.checkpoints.find((c) => isValid(c))?.instance ?? events[0]?.instance ?? '';

  // Checkpoints by the seq they cover; a malformed seq can be placed nowhere, so it breaks first.
  const checkpointsBySeq = new Map<number, AuditCheckpoint[]>();
  for (const c of input.checkpoints) {
    const seq = (c as { seq?: unknown } | null)?.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
      return broken(0, 0, 1, { seq: 0, problem: 'bad-signature', detail: 'a checkpoint has no valid seq' });
    }
    const list = checkpointsBySeq.get(seq) ?? [];
    list.push(c);
    checkpointsBySeq.set(seq, list);
  }

  // Anchor: start at `from` only when a valid checkpoint of this instance vouches for seq from-1.
  let startSeq = 1;
  let prevHash = genesisHash(instance);
  const from = input.from;
  if (from !== undefined && Number.isSafeInteger(from) && from > 1) {
    const anchor = checkpointsBySeq
      .get(from - 1)
      ?.find((c) => c.instance === instance && c.keyId === keyId && isValid(c));
    if (anchor !== undefined) {
      startSeq = from;
      prevHash = anchor.headHash;
    }
  }

  // Events before the start (in stored order) are not examined.
  let index = 0;
  if (startSeq > 1) {
    while (index < events.length && seqOf(events[index]) < startSeq) index++;
  }
  // Where each seq still appears, to tell a displaced event from a missing one.
  const laterPositions = new Map<number, number[]>();
  for (let i = index; i < events.length; i++) {
    const seq = seqOf(events[i]);
    const list = laterPositions.get(seq) ?? [];
    list.push(i);
    laterPositions.set(seq, list);
  }
  const appearsAfter = (seq: number, position: number): boolean =>
    (laterPositions.get(seq) ?? []).some((p) => p > position);

  let expected = startSeq;
  let checkedEvents = 0;
  let lastVerifiedSeq = startSeq - 1;
  const checkCheckpoints = (seq: number, headHash: string | undefined): Break | undefined => {
    for (const c of checkpointsBySeq.get(seq) ?? []) {
      const problem = checkpointProblem(c, seq, headHash);
      if (problem !== undefined) return problem;
    }
    if (headHash !== undefined && (checkpointsBySeq.get(seq)?.length ?? 0) > 0) lastVerifiedSeq = seq;
    return undefined;
  };
  const checkpointProblem = (
    c: AuditCheckpoint,
    seq: number,
    headHash: string | undefined,
  ): Break | undefined => {
    if (c.keyId !== keyId) {
      return {
        seq,
        problem: 'unknown-key',
        detail: `checkpoint at seq ${seq} names key ${String(c.keyId)}, not ${keyId}`,
      };
    }
    if (!isValid(c))
      return { seq, problem: 'bad-signature', detail: `checkpoint at seq ${seq}: signature does not verify` };
    if (c.instance !== instance) {
      return {
        seq,
        problem: 'wrong-instance',
        detail: `checkpoint at seq ${seq} is for instance "${c.instance}", not "${instance}"`,
      };
    }
    if (headHash === undefined) {
      return {
        seq,
        problem: 'checkpoint-without-event',
        detail: `a signed checkpoint covers seq ${seq}, but the trail has no such event`,
      };
    }
    if (c.headHash !== headHash) {
      return {
        seq,
        problem: 'checkpoint-mismatch',
        detail: `checkpoint at seq ${seq} signs head ${c.headHash}, the event's hash is ${headHash}`,
      };
    }
    return undefined;
  };

  for (let position = index; position < events.length; position++) {
    const event = events[position]!;
    const problem = checkEvent(event, position);
    if (problem !== undefined) return broken(checkedEvents, lastVerifiedSeq, startSeq, problem);
    checkedEvents++;
    prevHash = event.hash;
    const checkpointBreak = checkCheckpoints(expected, event.hash);
    if (checkpointBreak !== undefined)
      return broken(checkedEvents, lastVerifiedSeq, startSeq, checkpointBreak);
    expected++;
  }

  // Signed checkpoints past the last event: the trail was cut after them.
  const beyond = [...checkpointsBySeq.keys()].filter((seq) => seq >= expected).sort((a, b) => a - b);
  for (const seq of beyond) {
    const checkpointBreak = checkCheckpoints(seq, undefined);
    if (checkpointBreak !== undefined)
      return broken(checkedEvents, lastVerifiedSeq, startSeq, checkpointBreak);
  }

  const lastSeq = expected - 1;
  const report: VerifyReport = { ok: true, checkedEvents, lastVerifiedSeq, startedAtSeq: startSeq };
  if (lastSeq > lastVerifiedSeq) report.unverifiableTail = { fromSeq: lastVerifiedSeq + 1, toSeq: lastSeq };
  return report;

  function checkEvent(event: ChainedAuditEvent, position: number): Break | undefined {
    if (typeof event !== 'object' || event === null) {
      return {
        seq: expected,
        problem: 'hash-mismatch',
        detail: `the event at seq ${expected} is not an object`,
      };
    }
    if (event.instance !== instance) {
      return {
        seq: expected,
        problem: 'wrong-instance',
        detail: `expected seq ${expected} of "${instance}", found seq ${String(event.seq)} of "${String(event.instance)}"`,
      };
    }
    const seq = seqOf(event);
    if (seq !== expected) {
      if (seq < expected && seq >= startSeq) {
        return {
          seq,
          problem: 'duplicate-sequence',
          detail: `seq ${seq} appears again after seq ${expected - 1}`,
        };
      }
      if (seq > expected && !appearsAfter(expected, position)) {
        return {
          seq: expected,
          problem: 'sequence-gap',
          detail: `seq ${expected} is missing (next is seq ${seq})`,
        };
      }
      return {
        seq: expected,
        problem: 'out-of-order',
        detail: `expected seq ${expected}, found ${Number.isNaN(seq) ? 'no valid seq' : `seq ${seq}`} in its place`,
      };
    }
    if (event.prevHash !== prevHash) {
      return {
        seq,
        problem: 'prev-hash-mismatch',
        detail: `seq ${seq} links to ${String(event.prevHash)}, expected ${prevHash}`,
      };
    }
    let computed: string;
    try {
      computed = eventHash(event);
    } catch (error) {
      return {
        seq,
        problem: 'hash-mismatch',
        detail: `seq ${seq} has no canonical form: ${(error as Error).message}`,
      };
    }
    if (computed !== event.hash) {
      return {
        seq,
        problem: 'hash-mismatch',
        detail: `seq ${seq} hashes to ${computed}, stored hash is ${String(event.hash)}`,
      };
    }
    return undefined;
  }
}

function seqOf(event: ChainedAuditEvent | undefined): number {
  const seq: unknown = event?.seq;
  return typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : Number.NaN;
}

function broken(
  checkedEvents: number,
  lastVerifiedSeq: number,
  startedAtSeq: number,
  firstBroken: Break,
): VerifyReport {
  return { ok: false, checkedEvents, lastVerifiedSeq, startedAtSeq, firstBroken };
}
