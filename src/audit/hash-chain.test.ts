/** AuditChain: sequence, links, determinism, resumption from a stored head, and body validation. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUDIT_EVENT_KINDS, type AuditEventBody, type JsonValue } from './audit-event.js';
import { canonicalJson } from './canonical-json.js';
import { AuditChain, encodeAuditBody, eventHash, genesisHash } from './hash-chain.js';

const body: AuditEventBody = {
  kind: 'statement.decided',
  at: '2025-01-01T12:00:00.000Z',
  who: { tokenId: 'at_x', subject: 'alice', role: 'reader', claims: { repo: 'acme/shop' } },
  why: { reason: 'PR #42', runId: null },
  where: { instance: 'gw-1', client: '10.0.0.7:5123', upstream: 'shop', sessionId: 's1' },
  what: { statement: 'select 1', decision: 'allow', tables: ['public.orders'], maskedColumns: [] },
};

describe('genesisHash', () => {
  it('is sha256 of the instance-bound genesis text', () => {
    expect(genesisHash('gw-1')).toBe(createHash('sha256').update('airlock-audit-genesis:gw-1').digest('hex'));
    expect(genesisHash('gw-1')).not.toBe(genesisHash('gw-2'));
  });
});

describe('AuditChain', () => {
  it('numbers events from 1 and links each to the previous hash', () => {
    const chain = new AuditChain('gw-1');
    expect(chain.head).toEqual({ seq: 0, hash: genesisHash('gw-1') });
    const first = chain.append(body);
    const second = chain.append({ ...body, kind: 'statement.finished', what: { rows: 1, durationMs: 3 } });
    expect(first).toMatchObject({ instance: 'gw-1', seq: 1, prevHash: genesisHash('gw-1') });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(chain.head).toEqual({ seq: 2, hash: second.hash });
  });

  it('hashes the canonical form of everything except the hash itself', () => {
    const event = new AuditChain('gw-1').append(body);
    const { hash, ...rest } = event;
    expect(hash).toBe(createHash('sha256').update(canonicalJson(rest)).digest('hex'));
    expect(eventHash(event)).toBe(hash);
  });

  it('is deterministic: same head and body give the same event', () => {
    expect(new AuditChain('gw-1').append(body)).toEqual(new AuditChain('gw-1').append(body));
  });

  it('resumes from a stored head', () => {
    const full = new AuditChain('gw-1');
    full.append(body);
    const second = full.append(body);
    const resumed = new AuditChain('gw-1', { seq: 1, hash: new AuditChain('gw-1').append(body).hash });
    expect(resumed.append(body)).toEqual(second);
  });

  it('copies and freezes the event so later changes to the body cannot alter it', () => {
    const what = { statement: 'select 1' };
    const event = new AuditChain('gw-1').append({ ...body, what });
    what.statement = 'drop table orders';
    expect(event.what).toEqual({ statement: 'select 1' });
    expect(Object.isFrozen(event.what)).toBe(true);
    expect(eventHash(event)).toBe(event.hash);
  });

  it.each([
    ['a float', { ...body, what: { durationMs: 1.25 } }, /safe integers/],
    ['an undefined member', { ...body, who: { subject: undefined } }, /\$\.who\.subject/],
    ['an unknown kind', { ...body, kind: 'statement.ran' }, /unknown kind/],
    ['a non-ISO time', { ...body, at: 'yesterday' }, /ISO 8601/],
    ['an extra top-level field', { ...body, seq: 7 }, /unknown field "seq"/],
    ['a non-object part', { ...body, what: ['x'] }, /"what" must be an object/],
  ])('rejects a body with %s and does not advance', (_label, bad, message) => {
    const chain = new AuditChain('gw-1');
    expect(() => chain.append(bad as unknown as AuditEventBody)).toThrow(message);
    expect(chain.head.seq).toBe(0);
  });

  it('rejects a malformed head or instance', () => {
    expect(() => new AuditChain('')).toThrow(/instance/);
    expect(() => new AuditChain('gw-1', { seq: -1, hash: genesisHash('gw-1') })).toThrow(/seq/);
    expect(() => new AuditChain('gw-1', { seq: 3, hash: 'abc' })).toThrow(/hex/);
    expect(() => new AuditChain('gw-1', { seq: 0, hash: genesisHash('gw-2') })).toThrow(/genesis/);
  });
});

describe('AuditChain.appendEncoded', () => {
  const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constant(null),
      fc.boolean(),
      fc.string({ unit: 'binary' }),
      fc.maxSafeInteger(),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(fc.string(), tie('value'), { maxKeys: 3 }),
    ),
  })).value;
  const part = fc.option(fc.dictionary(fc.string({ unit: 'binary' }), json, { maxKeys: 4 }), {
    nil: undefined,
  });
  const bodies = fc.record({
    kind: fc.constantFrom(...AUDIT_EVENT_KINDS),
    at: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
    who: part,
    why: part,
    where: part,
    what: part,
  });

  it('writes exactly canonicalJson of the event append returns, with the same hash, link by link', () => {
    fc.assert(
      fc.property(
        fc.array(bodies, { minLength: 1, maxLength: 4 }),
        fc.string({ minLength: 1 }),
        (list, instance) => {
          const objects = new AuditChain(instance);
          const encoded = new AuditChain(instance);
          for (const raw of list) {
            const body = Object.fromEntries(
              Object.entries(raw).filter(([, v]) => v !== undefined),
            ) as unknown as AuditEventBody;
            const event = objects.append(body);
            const stored = encoded.appendEncoded(encodeAuditBody(body));
            expect(stored.json).toBe(canonicalJson(event));
            expect(stored).toMatchObject({ instance, seq: event.seq, at: event.at, hash: event.hash });
          }
        },
      ),
    );
  });

  it('refuses an encoded body whose text does not start with its own at and kind', () => {
    const chain = new AuditChain('gw-1');
    const good = encodeAuditBody(body);
    expect(() => chain.appendEncoded({ ...good, kind: 'token.issued' })).toThrow(/does not start/);
    expect(chain.head.seq).toBe(0);
  });
});
