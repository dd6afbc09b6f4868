/** verifyAuditTrail: a real 55-event chain with checkpoints every 10, and one test per way to tamper with it. */
import { describe, expect, it } from 'vitest';
import type { AuditEventBody, ChainedAuditEvent } from './audit-event.js';
import { type AuditCheckpoint, generateAuditSigningKey, signCheckpoint } from './checkpoint.js';
import { AuditChain, eventHash } from './hash-chain.js';
import { exportJsonl, parseJsonl } from './jsonl-export.js';
import { type VerifyInput, verifyAuditTrail } from './verify-chain.js';

const KINDS = ['statement.decided', 'statement.finished'] as const;
const key = generateAuditSigningKey();

function bodyAt(seq: number): AuditEventBody {
  return {
    kind: KINDS[seq % 2]!,
    at: new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString(),
    who: { tokenId: 'at_agent', subject: 'ci@acme', role: 'reader' },
    why: { reason: 'PR #42', runId: 'gh-7' },
    where: { client: '10.0.0.7:5123', upstream: 'shop', sessionId: `s${Math.floor(seq / 5)}` },
    what: { statement: `select * from orders where id = ${seq}`, rows: seq },
  };
}

/** Builds `count` events of `instance`, signing a checkpoint every `every` events. */
function buildTrail(count = 55, every = 10, instance = 'gw-1') {
  const chain = new AuditChain(instance);
  const events: ChainedAuditEvent[] = [];
  const checkpoints: AuditCheckpoint[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const event = chain.append(bodyAt(seq));
    events.push(event);
    if (seq % every === 0) {
      checkpoints.push(
        signCheckpoint({ instance, seq, headHash: event.hash, at: event.at }, key.privateKeyPem),
      );
    }
  }
  return { events, checkpoints };
}

const trail = buildTrail();

function verify(changes: Partial<VerifyInput> = {}) {
  return verifyAuditTrail({ ...trail, publicKeyPem: key.publicKeyPem, instance: 'gw-1', ...changes });
}

function withEvents(edit: (events: ChainedAuditEvent[]) => void): ChainedAuditEvent[] {
  const events = structuredClone(trail.events);
  edit(events);
  return events;
}

/** Re-links and re-hashes events from `index` on, as an attacker who knows the algorithm would. */
function rehashFrom(events: ChainedAuditEvent[], index: number): void {
  for (let i = index; i < events.length; i++) {
    const event = events[i]!;
    if (i > 0) event.prevHash = events[i - 1]!.hash;
    event.hash = eventHash(event);
  }
}

describe('verifyAuditTrail: intact trails', () => {
  it('accepts the whole trail and reports the unsigned tail after the last checkpoint', () => {
    expect(verify()).toEqual({
      ok: true,
      checkedEvents: 55,
      lastVerifiedSeq: 50,
      startedAtSeq: 1,
      unverifiableTail: { fromSeq: 51, toSeq: 55 },
    });
  });

  it('has no unverifiable tail when the last event is checkpointed', () => {
    const exact = buildTrail(50);
    const report = verifyAuditTrail({ ...exact, publicKeyPem: key.publicKeyPem });
    expect(report).toEqual({ ok: true, checkedEvents: 50, lastVerifiedSeq: 50, startedAtSeq: 1 });
  });

  it('accepts an empty trail', () => {
    expect(verify({ events: [], checkpoints: [] })).toEqual({
      ok: true,
      checkedEvents: 0,
      lastVerifiedSeq: 0,
      startedAtSeq: 1,
    });
  });

  it('infers the instance from the signed checkpoints when none is given', () => {
    expect(verify({ instance: undefined }).ok).toBe(true);
  });
});

describe('verifyAuditTrail: tampering', () => {
  it('an edited field: hash-mismatch at that seq', () => {
    const events = withEvents((e) => {
      e[22]!.what = { ...e[22]!.what, statement: 'select 1' };
    });
    expect(verify({ events }).firstBroken).toMatchObject({ seq: 23, problem: 'hash-mismatch' });
  });

  it('an edit at any seq is reported at exactly that seq', () => {
    for (let seq = 1; seq <= 55; seq++) {
      const events = withEvents((e) => {
        e[seq - 1]!.who = { subject: 'someone-else' };
      });
      expect(verify({ events }).firstBroken, `seq ${seq}`).toMatchObject({ seq, problem: 'hash-mismatch' });
    }
  });

  it('an edited event whose own hash was recomputed: prev-hash-mismatch at the next seq', () => {
    const events = withEvents((e) => {
      e[22]!.what = { statement: 'select 1' };
      e[22]!.hash = eventHash(e[22]!);
    });
    expect(verify({ events }).firstBroken).toMatchObject({ seq: 24, problem: 'prev-hash-mismatch' });
  });

  it('an edit with the rest of the chain rewritten: checkpoint-mismatch at the next checkpoint', () => {
    const events = withEvents((e) => {
      e[22]!.what = { statement: 'select 1' };
      rehashFrom(e, 22);
    });
    const report = verify({ events });
    expect(report.firstBroken).toMatchObject({ seq: 30, problem: 'checkpoint-mismatch' });
    expect(report.lastVerifiedSeq).toBe(20);
  });

  it('a value with no canonical form (a float): hash-mismatch at that seq', () => {
    const events = withEvents((e) => {
      e[9]!.what = { durationMs: 1.5 };
    });
    expect(verify({ events }).firstBroken).toMatchObject({ seq: 10, problem: 'hash-mismatch' });
  });

  it('a deleted event: sequence-gap at the missing seq, for every seq but the unsigned last', () => {
    for (let seq = 1; seq <= 54; seq++) {
      const events = withEvents((e) => {
        e.splice(seq - 1, 1);
      });
      expect(verify({ events }).firstBroken, `seq ${seq}`).toMatchObject({ seq, problem: 'sequence-gap' });
    }
  });

  it('a reordering: out-of-order at the first displaced seq', () => {
    for (let seq = 1; seq <= 54; seq++) {
      const events = withEvents((e) => {
        [e[seq - 1], e[seq]] = [e[seq]!, e[seq - 1]!];
      });
      expect(verify({ events }).firstBroken, `swap ${seq}`).toMatchObject({ seq, problem: 'out-of-order' });
    }
  });

  it('an event moved several places earlier: out-of-order at the seq it displaced', () => {
    const events = withEvents((e) => {
      const [moved] = e.splice(39, 1);
      e.splice(34, 0, moved!);
    });
    expect(verify({ events }).firstBroken).toMatchObject({ seq: 35, problem: 'out-of-order' });
  });

  it('an inserted copy with the same seq: duplicate-sequence at that seq', () => {
    const events = withEvents((e) => {
      const copy = { ...structuredClone(e[19]!), what: { statement: 'select 2' } };
      copy.hash = eventHash(copy);
      e.splice(20, 0, copy);
    });
    expect(verify({ events }).firstBroken).toMatchObject({ seq: 20, problem: 'duplicate-sequence' });
  });

  it('an inserted event correctly linked and hashed: duplicate-sequence where the real one follows', () => {
    const events = withEvents((e) => {
      const forged: ChainedAuditEvent = { ...structuredClone(e[20]!), what: { statement: 'select 3' } };
      forged.hash = eventHash(forged);
      e.splice(20, 0, forged);
    });
    expect(verify({ events }).firstBroken).toMatchObject({ seq: 21, problem: 'duplicate-sequence' });
  });

  it('an inserted event with renumbered successors: prev-hash-mismatch at the inserted position', () => {
    const events = withEvents((e) => {
      const forged: ChainedAuditEvent = { ...structuredClone(e[20]!), prevHash: '0'.repeat(64) };
      forged.hash = eventHash(forged);
      e.splice(20, 0, forged);
      for (let i = 21; i < e.length; i++) e[i]!.seq = i + 1;
    });
    expect(verify({ events }).firstBroken).toMatchObject({ seq: 21, problem: 'prev-hash-mismatch' });
  });

  it('a truncated tail after the last checkpoint: ok, reported as unverifiable tail', () => {
    const report = verify({ events: trail.events.slice(0, 52) });
    expect(report).toEqual({
      ok: true,
      checkedEvents: 52,
      lastVerifiedSeq: 50,
      startedAtSeq: 1,
      unverifiableTail: { fromSeq: 51, toSeq: 52 },
    });
  });

  it('truncation that removes checkpointed events: checkpoint-without-event at the first lost checkpoint', () => {
    const report = verify({ events: trail.events.slice(0, 44) });
    expect(report.firstBroken).toMatchObject({ seq: 50, problem: 'checkpoint-without-event' });
    expect(report.lastVerifiedSeq).toBe(40);
    const deeper = verify({ events: trail.events.slice(0, 25) });
    expect(deeper.firstBroken).toMatchObject({ seq: 30, problem: 'checkpoint-without-event' });
  });

  it('an altered checkpoint: bad-signature at its seq', () => {
    const checkpoints = trail.checkpoints.map((c) =>
      c.seq === 30 ? { ...c, headHash: trail.events[30]!.hash } : c,
    );
    expect(verify({ checkpoints }).firstBroken).toMatchObject({ seq: 30, problem: 'bad-signature' });
  });

  it('a checkpoint forged with another key under our key id: bad-signature', () => {
    const rogue = generateAuditSigningKey();
    const target = trail.events[19]!;
    const forged = {
      ...signCheckpoint(
        { instance: 'gw-1', seq: 20, headHash: target.hash, at: target.at },
        rogue.privateKeyPem,
      ),
      keyId: trail.checkpoints[0]!.keyId,
    };
    const checkpoints = trail.checkpoints.map((c) => (c.seq === 20 ? forged : c));
    expect(verify({ checkpoints }).firstBroken).toMatchObject({ seq: 20, problem: 'bad-signature' });
  });

  it('a forged checkpoint beyond the last event: bad-signature, not a missing event', () => {
    const forged = { ...trail.checkpoints[0]!, seq: 60 };
    const report = verify({ checkpoints: [...trail.checkpoints, forged] });
    expect(report.firstBroken).toMatchObject({ seq: 60, problem: 'bad-signature' });
  });

  it('a checkpoint signed by a key the verifier does not know: unknown-key', () => {
    const rogue = generateAuditSigningKey();
    const target = trail.events[39]!;
    const foreign = signCheckpoint(
      { instance: 'gw-1', seq: 40, headHash: target.hash, at: target.at },
      rogue.privateKeyPem,
    );
    const checkpoints = trail.checkpoints.map((c) => (c.seq === 40 ? foreign : c));
    expect(verify({ checkpoints }).firstBroken).toMatchObject({ seq: 40, problem: 'unknown-key' });
  });

  it('a validly signed checkpoint whose head differs from the event: checkpoint-mismatch', () => {
    const wrongHead = signCheckpoint(
      { instance: 'gw-1', seq: 20, headHash: trail.events[18]!.hash, at: trail.events[19]!.at },
      key.privateKeyPem,
    );
    const report = verify({ checkpoints: [...trail.checkpoints, wrongHead] });
    expect(report.firstBroken).toMatchObject({ seq: 20, problem: 'checkpoint-mismatch' });
    expect(report.lastVerifiedSeq).toBe(10);
  });

  it('events from another instance mixed in: wrong-instance at the position they occupy', () => {
    const other = buildTrail(20, 10, 'gw-2');
    const events = withEvents((e) => {
      e.splice(12, 0, other.events[12]!);
    });
    const report = verify({ events });
    expect(report.firstBroken).toMatchObject({ seq: 13, problem: 'wrong-instance' });
    expect(report.firstBroken?.detail).toContain('gw-2');
  });

  it('a checkpoint of another instance mixed in: wrong-instance at its seq', () => {
    const other = buildTrail(20, 5, 'gw-2');
    const report = verify({ checkpoints: [...trail.checkpoints, other.checkpoints[0]!] });
    expect(report.firstBroken).toMatchObject({ seq: 5, problem: 'wrong-instance' });
  });

  it('reports the earliest break when there are several', () => {
    const events = withEvents((e) => {
      e.splice(40, 1);
      e[14]!.at = '2030-01-01T00:00:00.000Z';
    });
    expect(verify({ events }).firstBroken).toMatchObject({ seq: 15, problem: 'hash-mismatch' });
  });
});

describe('verifyAuditTrail: from', () => {
  it('starts at `from` when a valid checkpoint covers from-1', () => {
    const report = verify({ events: trail.events.slice(30), from: 31 });
    expect(report).toEqual({
      ok: true,
      checkedEvents: 25,
      lastVerifiedSeq: 50,
      startedAtSeq: 31,
      unverifiableTail: { fromSeq: 51, toSeq: 55 },
    });
  });

  it('skips earlier events in a full trail, so damage before `from` is not examined', () => {
    const events = withEvents((e) => {
      e[4]!.what = { statement: 'tampered' };
    });
    expect(verify({ events, from: 31 })).toMatchObject({ ok: true, startedAtSeq: 31, checkedEvents: 25 });
  });

  it("checks the first event's prevHash against the anchoring checkpoint", () => {
    const events = withEvents((e) => {
      e[30]!.prevHash = '0'.repeat(64);
      e[30]!.hash = eventHash(e[30]!);
      rehashFrom(e, 31);
    }).slice(30);
    expect(verify({ events, from: 31 }).firstBroken).toMatchObject({
      seq: 31,
      problem: 'prev-hash-mismatch',
    });
  });

  it('verifies from the start when no valid checkpoint covers from-1', () => {
    const events = withEvents((e) => {
      e[4]!.what = { statement: 'tampered' };
    });
    const report = verify({ events, from: 26 });
    expect(report.startedAtSeq).toBe(1);
    expect(report.firstBroken).toMatchObject({ seq: 5, problem: 'hash-mismatch' });
    const forgedAnchor = trail.checkpoints.map((c) =>
      c.seq === 30 ? { ...c, headHash: '0'.repeat(64) } : c,
    );
    expect(verify({ events, checkpoints: forgedAnchor, from: 31 }).startedAtSeq).toBe(1);
  });
});

describe('verifyAuditTrail on an export', () => {
  it('export → parse → verify round trip', () => {
    const text = exportJsonl({ instance: 'gw-1', publicKeyPem: key.publicKeyPem, ...trail });
    const parsed = parseJsonl(text);
    const report = verifyAuditTrail({
      events: parsed.events,
      checkpoints: parsed.checkpoints,
      publicKeyPem: parsed.header.publicKeyPem,
      instance: parsed.header.instance,
    });
    expect(report).toMatchObject({ ok: true, checkedEvents: 55, lastVerifiedSeq: 50 });
  });

  it('finds an edit made to the exported text', () => {
    const text = exportJsonl({ instance: 'gw-1', publicKeyPem: key.publicKeyPem, ...trail });
    const edited = text.replace('where id = 37"', 'where id = 38"');
    const parsed = parseJsonl(edited);
    const report = verifyAuditTrail({ ...parsed, publicKeyPem: parsed.header.publicKeyPem });
    expect(report.firstBroken).toMatchObject({ seq: 37, problem: 'hash-mismatch' });
  });
});
