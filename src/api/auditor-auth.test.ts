import { describe, expect, it } from 'vitest';
import { hashAuditorKey } from '../config/auditor-keys.js';
import { authenticateAuditor } from './auditor-auth.js';

const CAROL = 'c'.repeat(64);
const DAVE = 'd0'.repeat(20);
const auditors = {
  carol: { name: 'carol', keySha256: hashAuditorKey(CAROL) },
  dave: { name: 'dave', keySha256: hashAuditorKey(DAVE) },
};

describe('authenticateAuditor', () => {
  it('names the auditor whose key the bearer header carries', () => {
    expect(authenticateAuditor(`Bearer ${CAROL}`, auditors)).toEqual({ ok: true, auditor: 'carol' });
    expect(authenticateAuditor(`bearer ${DAVE}`, auditors)).toEqual({ ok: true, auditor: 'dave' });
  });

  it('calls a header without a bearer key missing, and a wrong key invalid', () => {
    for (const header of [undefined, '', 'Bearer', `Basic ${CAROL}`, `Bearer ${CAROL} extra`]) {
      expect(authenticateAuditor(header, auditors)).toEqual({ ok: false, problem: 'missing' });
    }
    for (const key of [CAROL.slice(1), `${CAROL}c`, CAROL.toUpperCase(), hashAuditorKey(CAROL)]) {
      expect(authenticateAuditor(`Bearer ${key}`, auditors)).toEqual({ ok: false, problem: 'invalid' });
    }
  });

  it('accepts no key when no auditor is configured', () => {
    expect(authenticateAuditor(`Bearer ${CAROL}`, {})).toEqual({ ok: false, problem: 'invalid' });
  });
});
