import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser } from '../policy/sql-parser.js';
import { runScopeKey } from './run-scope-key.js';

beforeAll(async () => {
  await loadSqlParser();
});

describe('runScopeKey', () => {
  const key = (sql: string, params?: (string | null)[], paramsDigest?: string) =>
    runScopeKey('operator', [
      { sql, ...(params ? { params } : {}), ...(paramsDigest ? { paramsDigest } : {}) },
    ]);

  it('ignores spacing, keyword case and comments, but not names, constants or values', () => {
    const base = key('delete from orders where id = 1');
    expect(key('DELETE   FROM orders /* again */ WHERE id = 1')).toBe(base);
    expect(key('delete from orders where id = 2')).not.toBe(base);
    expect(key('delete from order_items where id = 1')).not.toBe(base);
    expect(key('delete from orders where id = $1', ['1'])).not.toBe(
      key('delete from orders where id = $1', ['2']),
    );
    expect(key('delete from orders where id = $1', [null])).not.toBe(
      key('delete from orders where id = $1', []),
    );
  });

  it('tells apart bindings whose recorded values look alike by their digest, and roles apart', () => {
    const cut = ['xxxx…[5000 bytes]'];
    expect(key('select $1', cut, 'a'.repeat(64))).not.toBe(key('select $1', cut, 'b'.repeat(64)));
    expect(runScopeKey('a', [{ sql: 'truncate t' }])).not.toBe(runScopeKey('b', [{ sql: 'truncate t' }]));
  });
});
