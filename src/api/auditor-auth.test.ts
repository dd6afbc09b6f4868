import { describe, expect, it } from 'vitest';
import { hashAuditorKey } from '../config/auditor-keys.js';
import { authenticateKeyHolder } from './auditor-auth.js';

const CAROL = 'c'.repeat(64);
const DAVE = 'd0'.repeat(20);
const auditors = {
  carol: { name: 'carol', keySha256: hashAuditorKey(CAROL) },
  dave: { name: 'dave', keySha256: hashAuditorKey(DAVE) },
};

describe('authenticateKeyHolder (auditors)', () => {
  it('names the auditor whose key the bearer header carries', () => {
    expect(authenticateKeyHolder(`Bearer ${CAROL}`, auditors)).toEqual({ ok: true, name: 'carol' });
    expect(authenticateKeyHolder(`bearer ${DAVE}`, auditors)).toEqual({ ok: true, name: 'dave' });
  });

  it('calls a header without a bearer key missing, and a wrong key invalid', () => {
    for (const header of [undefined, '', 'Bearer', `Basic ${CAROL}`, `Bearer ${CAROL} extra`]) {
      expect(authenticateKeyHolder(header, auditors)).toEqual({ ok: false, problem: 'missing' });
    }
    for (const key of [CAROL.slice(1), `${CAROL}c`, CAROL.toUpperCase(), hashAuditorKey(CAROL)]) {
      expect(authenticateKeyHolder(`Bearer ${key}`, auditors)).toEqual({ ok: false, problem: 'invalid' });
    }
  });

  it('accepts no key when no auditor is configured', () => {
    expect(authenticateKeyHolder(`Bearer ${CAROL}`, {})).toEqual({ ok: false, problem: 'invalid' });
  });
});
