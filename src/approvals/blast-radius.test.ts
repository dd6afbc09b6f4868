import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser } from '../policy/sql-parser.js';
import { estimatedRowsFromPlan, isEstimable } from './blast-radius.js';

beforeAll(async () => {
  await loadSqlParser();
});

describe('blast radius', () => {
  it('estimates single DELETE and UPDATE statements only', () => {
    expect(isEstimable('delete from orders where id < $1')).toBe(true);
    expect(isEstimable("update orders set status = 'x'")).toBe(true);
    expect(isEstimable('truncate orders')).toBe(false);
    expect(isEstimable('delete from a; drop table b')).toBe(false);
    expect(isEstimable('not sql')).toBe(false);
  });

  it('reads the rows feeding ModifyTable, and refuses anything else', () => {
    const plan = JSON.stringify([
      {
        Plan: {
          'Node Type': 'ModifyTable',
          'Plan Rows': 0,
          Plans: [{ 'Node Type': 'Seq Scan', 'Plan Rows': 1234.4 }],
        },
      },
    ]);
    expect(estimatedRowsFromPlan(plan)).toBe(1234);
    expect(estimatedRowsFromPlan(JSON.stringify([{ Plan: { 'Node Type': 'Result', 'Plan Rows': 1 } }]))).toBe(
      1,
    );
    expect(estimatedRowsFromPlan('nonsense')).toBeNull();
    expect(estimatedRowsFromPlan(JSON.stringify([{ Plan: { 'Plan Rows': -1 } }]))).toBeNull();
    expect(estimatedRowsFromPlan('[]')).toBeNull();
  });
});
