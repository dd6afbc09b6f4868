/** maskNumericLiterals against PostgreSQL's own scanner (libpg-query scanSync) as the oracle. */
import fc from 'fast-check';
import { loadModule, scanSync } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { CORPUS } from '../../test/policy/corpus.js';
import { maskNumericLiterals } from './numeric-literals.js';

/** The text with each ICONST/FCONST token of PostgreSQL's scanner replaced by 0, or null if it does not scan. */
function maskedByPostgres(sql: string): string | null {
  let tokens: ReturnType<typeof scanSync>['tokens'];
  try {
    tokens = scanSync(sql).tokens;
  } catch {
    return null;
  }
  const bytes = Buffer.from(sql, 'utf8');
  let out = '';
  let copied = 0;
  for (const token of tokens) {
    if (token.tokenName !== 'ICONST' && token.tokenName !== 'FCONST') continue;
    out += `${bytes.subarray(copied, token.start).toString('utf8')}0`;
    copied = token.end;
  }
  return out + bytes.subarray(copied).toString('utf8');
}

const FRAGMENTS = [
  'select ',
  'from ',
  'orders',
  't1',
  '"t2"',
  '"a""3"',
  ' ',
  ',',
  '(',
  ')',
  '.',
  '..',
  '1',
  '42',
  '3.5',
  '.5',
  '1e5',
  '1e-3',
  '2E+7',
  '0x1F',
  '0o17',
  '0b101',
  '1_000',
  "'x'",
  "'it''s 9'",
  "E'\\'7'",
  "e'8\\\\'",
  '$1',
  '$23',
  '$$ 4 $$',
  '$tag$ 5 $tag$',
  '-- 6\n',
  '/* 7 /* 8 */ */',
  ' - ',
  '+',
  '::int',
  'a$b',
  'U&"d"',
  "B'101'",
  "X'1f'",
  "date '2020-01-01'",
  'e',
  'E',
  '_x',
  'limit ',
  'where aid = ',
  ';',
  '[',
  ']',
  '1a',
  'é9',
];

describe('maskNumericLiterals', () => {
  beforeAll(() => loadModule());

  it('masks numbers only, as the tokens of the pgbench statements', () => {
    expect(maskNumericLiterals('SELECT abalance FROM pgbench_accounts WHERE aid = 48213;')).toBe(
      'SELECT abalance FROM pgbench_accounts WHERE aid = 0;',
    );
    expect(maskNumericLiterals('select * from t1 where "c2" = 3')).toBe('select * from t1 where "c2" = 0');
    expect(maskNumericLiterals("select '12', $$34$$, $1 /* 5 */ -- 6\n")).toBe(
      "select '12', $$34$$, $1 /* 5 */ -- 6\n",
    );
  });

  it('refuses to guess where the lexing is not modelled exactly', () => {
    for (const sql of [
      "select U&'\\0061'",
      'select 1..2',
      'select 123abc',
      "select 'open",
      'select /* open',
      'select $x',
    ]) {
      expect(maskNumericLiterals(sql)).toBeNull();
    }
  });

  it("agrees with PostgreSQL's scanner on every corpus statement it accepts", () => {
    let compared = 0;
    for (const c of CORPUS) {
      const ours = maskNumericLiterals(c.sql);
      if (ours === null) continue;
      const theirs = maskedByPostgres(c.sql);
      if (theirs === null) continue;
      expect(ours, c.sql).toBe(theirs);
      compared++;
    }
    expect(compared).toBeGreaterThan(300);
  });

  it("agrees with PostgreSQL's scanner on random token soups", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 16 }), (parts) => {
        const sql = parts.join('');
        const ours = maskNumericLiterals(sql);
        if (ours === null) return;
        const theirs = maskedByPostgres(sql);
        if (theirs === null) return;
        expect(ours).toBe(theirs);
      }),
      { numRuns: 5000 },
    );
  });
});
