import { beforeAll, describe, expect, it } from 'vitest';
import { AnalysisCache } from './analysis-cache.js';
import { loadSqlParser } from './sql-parser.js';

describe('AnalysisCache', () => {
  beforeAll(() => loadSqlParser());

  it('returns the same result object for the same text and search path', () => {
    const cache = new AnalysisCache();
    const first = cache.analyze('select 1 from orders', ['public']);
    expect(cache.analyze('select 1 from orders', ['public'])).toBe(first);
    expect(cache.analyze('select 1 from orders', ['sales'])).not.toBe(first);
  });

  it('keeps hot statements while staying bounded by two generations', () => {
    const cache = new AnalysisCache(10);
    const hot = cache.analyze('select 1 from orders', ['public']);
    for (let i = 0; i < 100; i++) {
      cache.analyze(`select ${i} from orders`, ['public']);
      expect(cache.analyze('select 1 from orders', ['public'])).toEqual(hot);
      expect(cache.size).toBeLessThanOrEqual(20);
    }
  });

  it('does not cache very long texts', () => {
    const cache = new AnalysisCache();
    cache.analyze(`select '${'x'.repeat(20_000)}'`, ['public']);
    expect(cache.size).toBe(0);
  });

  it('shares one analysis between statements that differ only in numbers', () => {
    const cache = new AnalysisCache();
    const first = cache.analyze('select abalance from pgbench_accounts where aid = 17', ['public']);
    expect(cache.analyze('select abalance from pgbench_accounts where aid = 90210', ['public'])).toBe(first);
    expect(cache.analyze('select abalance from pgbench_accounts2 where aid = 17', ['public'])).not.toBe(
      first,
    );
  });

  it('does not let a failing text poison a valid one with the same numbers masked', () => {
    const cache = new AnalysisCache();
    // A typmod too large for an integer is a syntax error; with the numbers masked it looks like a valid one.
    expect(cache.analyze('create table t (a varchar(99999999999))', ['public']).ok).toBe(false);
    expect(cache.analyze('create table t (a varchar(10))', ['public']).ok).toBe(true);
  });
});
