/** CopyInWindow: COPY data is admitted only behind a forwarded COPY statement, until the agent ends it. */
import { describe, expect, it } from 'vitest';
import type { GuardStatement } from '../guard.js';
import { CopyInWindow, copyStatementsIn } from './copy-in-window.js';

const query = (sql: string): GuardStatement => ({ sql, via: 'simple-query' });
const parse = (sql: string): GuardStatement => ({ sql, via: 'parse' });
const execute = (sql: string): GuardStatement => ({ sql, via: 'execute' });

describe('copyStatementsIn', () => {
  it('counts every "copy" in what runs, in any case, and nothing in a Parse alone', () => {
    expect(copyStatementsIn([query('COPY t FROM STDIN')])).toBe(1);
    expect(copyStatementsIn([query('copy a from stdin; Copy b from stdin')])).toBe(2);
    expect(copyStatementsIn([parse('copy t from stdin')])).toBe(0);
    expect(copyStatementsIn([parse('copy t from stdin'), execute('copy t from stdin')])).toBe(1);
    expect(
      copyStatementsIn([query('select 1'), { sql: 'fastpath function call (oid 1)', via: 'function-call' }]),
    ).toBe(0);
    // An over-estimate is harmless: the server ignores COPY messages outside COPY.
    expect(copyStatementsIn([query("select 'copy'")])).toBe(1);
  });
});

describe('CopyInWindow', () => {
  it('refuses COPY messages before anything was forwarded', () => {
    const window = new CopyInWindow();
    expect(window.admit(false, null)).toBe(false);
    expect(window.admit(true, null)).toBe(false);
  });

  it('admits data behind a forwarded COPY until its CopyDone, then refuses', () => {
    const window = new CopyInWindow();
    window.decided([query('copy t from stdin')], true);
    expect(window.admit(false, null)).toBe(true);
    expect(window.admit(false, null)).toBe(true);
    expect(window.admit(true, null)).toBe(true);
    expect(window.admit(false, null)).toBe(false);
  });

  it('admits one COPY per COPY statement of a multi-statement query', () => {
    const window = new CopyInWindow();
    window.decided([query('copy a from stdin; copy b from stdin')], true);
    expect(window.admit(true, null)).toBe(true);
    expect(window.admit(false, null)).toBe(true);
    expect(window.admit(true, null)).toBe(true);
    expect(window.admit(true, null)).toBe(false);
  });

  it('admits nothing behind a refused COPY, or once the next statement was decided', () => {
    const window = new CopyInWindow();
    window.decided([query('copy vault from stdin')], false);
    expect(window.admit(false, null)).toBe(false);
    window.decided([query('copy t from stdin')], true);
    window.decided([query('select 1')], true);
    expect(window.admit(false, null)).toBe(false);
  });

  it('inside a batch being assembled, admits data only after an Execute of a COPY, and carries it over', () => {
    const window = new CopyInWindow();
    const batch: GuardStatement[] = [parse('copy t from stdin')];
    expect(window.admit(false, batch)).toBe(false);
    batch.push(execute('copy t from stdin'));
    expect(window.admit(false, batch)).toBe(true);
    expect(window.admit(true, batch)).toBe(true);
    expect(window.admit(false, batch)).toBe(false);
    window.decided(batch, true);
    expect(window.admit(false, null)).toBe(false);

    const open: GuardStatement[] = [execute('copy t from stdin')];
    expect(window.admit(false, open)).toBe(true);
    window.decided(open, true); // the batch ended (Sync) before the agent's CopyDone
    expect(window.admit(true, null)).toBe(true);
    expect(window.admit(false, null)).toBe(false);
  });
});
