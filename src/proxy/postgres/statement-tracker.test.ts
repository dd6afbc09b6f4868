/** StatementTracker: the SQL behind each Execute, Close, and rollback/commit of a refused or forwarded batch. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cstr, int16, int32 } from '../../../test/helpers/wire-bytes.js';
import { MalformedMessageError } from '../../wire/postgres/body-reader.js';
import type { Frame } from '../../wire/postgres/message-framer.js';
import type { GuardStatement } from '../guard.js';
import { RECORDED_PARAM_BYTES, StatementTracker, serverNameKey } from './statement-tracker.js';

/** A frame as the framer would produce it: type byte, Int32 length, body. */
function frame(type: string, ...body: Buffer[]): Frame {
  const content = Buffer.concat(body);
  const raw = Buffer.concat([Buffer.from(type, 'ascii'), int32(content.length + 4), content]);
  return { type: raw[0]!, body: raw.subarray(5), raw };
}

const parse = (statement: string, sql: string): Frame => frame('P', cstr(statement), cstr(sql), int16(0));
/** Bind with no parameters and default result formats. */
const bind = (portal: string, statement: string): Frame =>
  frame('B', cstr(portal), cstr(statement), int16(0), int16(0), int16(0));
/** Bind with values: strings are text-format values, buffers binary, null is NULL. */
const bindValues = (portal: string, statement: string, values: (string | Buffer | null)[]): Frame =>
  frame(
    'B',
    cstr(portal),
    cstr(statement),
    int16(values.length),
    ...values.map((v) => int16(Buffer.isBuffer(v) ? 1 : 0)),
    int16(values.length),
    ...values.flatMap((v) =>
      v === null ? [int32(-1)] : [int32(Buffer.byteLength(v)), Buffer.isBuffer(v) ? v : Buffer.from(v)],
    ),
    int16(0),
  );
const execute = (portal: string, maxRows = 0): Frame => frame('E', cstr(portal), int32(maxRows));
const close = (target: 'S' | 'P', name: string): Frame => frame('C', Buffer.from(target), cstr(name));
const describeTarget = (target: string, name: string): Frame => frame('D', Buffer.from(target), cstr(name));
const sync = (): Frame => frame('S');

/** Feeds frames to the tracker and returns what the guard was asked to judge. */
function feed(tracker: StatementTracker, ...frames: Frame[]): GuardStatement[] {
  const out: GuardStatement[] = [];
  for (const f of frames) tracker.noteFrame(f, out);
  return out;
}

/** The SQL the guard would see for Execute of `portal` (no state change). */
const sqlOfPortal = (tracker: StatementTracker, portal: string): string =>
  feed(tracker, execute(portal))[0]!.sql;

describe('StatementTracker', () => {
  it('resolves Execute to the SQL of a named statement bound to a named portal', () => {
    const tracker = new StatementTracker();
    const out = feed(
      tracker,
      parse('s1', 'SELECT * FROM orders WHERE id = $1'),
      bind('p1', 's1'),
      execute('p1'),
      sync(),
    );
    expect(out).toEqual([
      { sql: 'SELECT * FROM orders WHERE id = $1', via: 'parse' },
      { sql: 'SELECT * FROM orders WHERE id = $1', via: 'execute', params: [] },
    ]);
  });

  it('resolves the unnamed statement through the unnamed portal', () => {
    const tracker = new StatementTracker();
    expect(feed(tracker, parse('', 'SELECT 1'), bind('', ''), execute(''))).toEqual([
      { sql: 'SELECT 1', via: 'parse' },
      { sql: 'SELECT 1', via: 'execute', params: [] },
    ]);
  });

  it('resolves each Execute of a portal, including a later batch that only executes', () => {
    const tracker = new StatementTracker();
    feed(tracker, parse('s', 'SELECT n FROM big'), bind('cur', 's'), execute('cur', 100));
    tracker.commit();
    expect(feed(tracker, execute('cur', 100), execute('cur', 100))).toEqual([
      { sql: 'SELECT n FROM big', via: 'execute', params: [] },
      { sql: 'SELECT n FROM big', via: 'execute', params: [] },
    ]);
  });

  it('a portal keeps the SQL it was bound with when its statement is later replaced', () => {
    const tracker = new StatementTracker();
    feed(tracker, parse('', 'SELECT 1'), bind('p', ''), parse('', 'DELETE FROM t'));
    expect(sqlOfPortal(tracker, 'p')).toBe('SELECT 1');
    feed(tracker, bind('p2', ''));
    expect(sqlOfPortal(tracker, 'p2')).toBe('DELETE FROM t');
  });

  it('hands the guard the values bound to the executed portal, as the audit trail records them', () => {
    const tracker = new StatementTracker();
    const long = 'x'.repeat(RECORDED_PARAM_BYTES + 10);
    const out = feed(
      tracker,
      parse('s', 'SELECT $1, $2, $3, $4'),
      bindValues('p', 's', ['alice', Buffer.from([0xde, 0xad]), null, long]),
      execute('p'),
    );
    expect(out[1]?.params).toEqual([
      'alice',
      '\\xdead',
      null,
      `${'x'.repeat(RECORDED_PARAM_BYTES)}…[${RECORDED_PARAM_BYTES + 10} bytes]`,
    ]);
  });

  it('adds a digest of the values in full only when one was cut, so cut values still tell bindings apart', () => {
    const tracker = new StatementTracker();
    const run = (last: string) =>
      feed(
        tracker,
        parse('', 'SELECT $1'),
        bindValues('', '', [`${'x'.repeat(RECORDED_PARAM_BYTES)}${last}`]),
        execute(''),
      )[1];
    const a = run('a');
    const b = run('b');
    expect(a?.params).toEqual(b?.params);
    expect(a?.paramsDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(a?.paramsDigest).not.toBe(b?.paramsDigest);
    expect(run('a')?.paramsDigest).toBe(a?.paramsDigest);
    const short = feed(tracker, parse('', 'SELECT $1'), bindValues('', '', ['short']), execute(''))[1];
    expect(short?.paramsDigest).toBeUndefined();
  });

  it('refuses a Bind whose values overrun the message', () => {
    const tracker = new StatementTracker();
    const lying = frame('B', cstr(''), cstr(''), int16(0), int16(1), int32(100), Buffer.from('ab'), int16(0));
    expect(() => feed(tracker, parse('', 'SELECT $1'), lying)).toThrow(MalformedMessageError);
  });

  it('treats names longer than 63 bytes as their first 63 bytes, as the server does', () => {
    const tracker = new StatementTracker();
    const stem = 's'.repeat(63);
    feed(tracker, parse(`${stem}_one`, 'SELECT 1'), bind(`${'p'.repeat(63)}_one`, `${stem}_two`));
    expect(sqlOfPortal(tracker, `${'p'.repeat(63)}_two`)).toBe('SELECT 1');
    feed(tracker, close('S', `${stem}_three`), bind('', `${stem}_one`));
    expect(feed(tracker, execute(''))).toEqual([{ sql: '', via: 'execute' }]);
    // Cut inside a two-byte character: still the same 63 bytes.
    feed(tracker, parse(`${'é'.repeat(32)}a`, 'SELECT 2'), bind('', `${'é'.repeat(32)}b`));
    expect(sqlOfPortal(tracker, '')).toBe('SELECT 2');
  });

  it('keys short ASCII names as themselves and others by their first 63 UTF-8 bytes', () => {
    expect(serverNameKey('')).toBe('');
    expect(serverNameKey('s1')).toBe('s1');
    expect(serverNameKey('x'.repeat(63))).toBe('x'.repeat(63));
    expect(serverNameKey('x'.repeat(64))).toBe('x'.repeat(63));
    expect(serverNameKey('é')).not.toBe(serverNameKey('è'));
    expect(serverNameKey(`${'é'.repeat(32)}a`)).toBe(serverNameKey(`${'é'.repeat(31)}\u00e9z`));
    expect(Buffer.byteLength(serverNameKey('é'.repeat(40)), 'latin1')).toBe(63);
  });

  it('keeps a named statement when it is parsed again without Close, as the server refuses that (42P05)', () => {
    const tracker = new StatementTracker();
    feed(tracker, parse('s', 'DELETE FROM orders WHERE id = $1'), parse('', 'SELECT 1'));
    // The re-Parse is still judged on its own text …
    expect(feed(tracker, parse('s', 'SELECT 2'), parse('', 'SELECT 3'))).toEqual([
      { sql: 'SELECT 2', via: 'parse' },
      { sql: 'SELECT 3', via: 'parse' },
    ]);
    // … but what runs, and what the audit records, is what the server holds.
    expect(sqlOfPortal(tracker, 's')).toBe('');
    expect(feed(tracker, bind('p', 's'), execute('p'))[0]?.sql).toBe('DELETE FROM orders WHERE id = $1');
    expect(feed(tracker, bind('q', ''), execute('q'))[0]?.sql).toBe('SELECT 3');
  });

  it('follows SQL PREPARE, DEALLOCATE and DISCARD ALL, which share the names with Parse', () => {
    const tracker = new StatementTracker();
    tracker.applyNameChanges([{ change: 'prepare', name: 's', sql: 'prepare s as delete from orders' }]);
    // A Parse into the SQL-prepared name is refused by the server; Execute runs the PREPAREd statement.
    feed(tracker, parse('s', 'SELECT 1'));
    expect(feed(tracker, bind('p', 's'), execute('p'))[0]?.sql).toBe('prepare s as delete from orders');
    tracker.applyNameChanges([{ change: 'prepare', name: 's', sql: 'prepare s as select 2' }]);
    expect(feed(tracker, bind('p', 's'), execute('p'))[0]?.sql).toBe('prepare s as delete from orders');
    tracker.applyNameChanges([{ change: 'deallocate', name: 's' }]);
    feed(tracker, parse('s', 'SELECT 1'), parse('t', 'SELECT 2'));
    expect(feed(tracker, bind('p', 's'), execute('p'))[0]?.sql).toBe('SELECT 1');
    tracker.applyNameChanges([{ change: 'deallocate-all' }]);
    expect(feed(tracker, bind('p', 't'), execute('p'))[0]?.sql).toBe('');
  });

  it('gives empty SQL for Execute of a portal it never saw', () => {
    expect(feed(new StatementTracker(), execute('nope'))).toEqual([{ sql: '', via: 'execute' }]);
    expect(feed(new StatementTracker(), execute(''))).toEqual([{ sql: '', via: 'execute' }]);
  });

  it('a Bind of an unknown statement leaves the portal unknown, replacing what it held', () => {
    const tracker = new StatementTracker();
    feed(tracker, parse('s', 'SELECT 1'), bind('p', 's'));
    expect(feed(tracker, bind('p', 'missing'), execute('p'))).toEqual([{ sql: '', via: 'execute' }]);
  });

  it('reports nothing to the guard for Bind, Close, Describe, Sync and unrelated frames', () => {
    const tracker = new StatementTracker();
    feed(tracker, parse('s', 'SELECT 1'));
    const out = feed(
      tracker,
      bind('p', 's'),
      describeTarget('S', 's'),
      describeTarget('P', 'p'),
      close('P', 'p'),
      frame('H'),
      frame('Q', cstr('SELECT 2')),
      sync(),
    );
    expect(out).toEqual([]);
  });

  describe('Close', () => {
    it('Close S forgets the statement: a later Bind of it gives an unknown portal', () => {
      const tracker = new StatementTracker();
      feed(tracker, parse('s', 'SELECT 1'), close('S', 's'));
      expect(feed(tracker, bind('p', 's'), execute('p'))).toEqual([{ sql: '', via: 'execute' }]);
    });

    it('Close P forgets the portal', () => {
      const tracker = new StatementTracker();
      feed(tracker, parse('s', 'SELECT 1'), bind('p', 's'), close('P', 'p'));
      expect(sqlOfPortal(tracker, 'p')).toBe('');
    });

    it('Close S of a name leaves a portal of the same name alone, and vice versa', () => {
      const tracker = new StatementTracker();
      feed(tracker, parse('x', 'SELECT 1'), bind('x', 'x'), close('S', 'x'));
      expect(sqlOfPortal(tracker, 'x')).toBe('SELECT 1');
      feed(tracker, parse('y', 'SELECT 2'), bind('y', 'y'), close('P', 'y'));
      expect(sqlOfPortal(tracker, 'y')).toBe('');
      expect(feed(tracker, bind('z', 'y'), execute('z'))).toEqual([
        { sql: 'SELECT 2', via: 'execute', params: [] },
      ]);
    });

    it('Close of a name it never saw is harmless', () => {
      const tracker = new StatementTracker();
      feed(tracker, parse('s', 'SELECT 1'), bind('p', 's'), close('S', 'other'), close('P', 'other'));
      expect(sqlOfPortal(tracker, 'p')).toBe('SELECT 1');
    });

    it('rejects a Close whose target is neither S nor P', () => {
      const bad = frame('C', Buffer.from('X'), cstr('s'));
      expect(() => feed(new StatementTracker(), bad)).toThrow(MalformedMessageError);
    });
  });

  describe('Describe', () => {
    it.each(['S', 'P'])('accepts target %s without changing anything', (target) => {
      const tracker = new StatementTracker();
      feed(
        tracker,
        parse('s', 'SELECT 1'),
        bind('p', 's'),
        describeTarget(target, target === 'S' ? 's' : 'p'),
      );
      expect(sqlOfPortal(tracker, 'p')).toBe('SELECT 1');
    });

    it.each(['s', 'X', '\0'])('rejects target %j', (target) => {
      expect(() => feed(new StatementTracker(), describeTarget(target, 'n'))).toThrow(MalformedMessageError);
    });

    it('rejects a Describe without a name terminator', () => {
      expect(() => feed(new StatementTracker(), frame('D', Buffer.from('Sname')))).toThrow(
        MalformedMessageError,
      );
    });
  });

  describe('malformed frames', () => {
    it.each([
      ['Parse without its parameter count', frame('P', cstr('s'), cstr('SELECT 1'))],
      ['Bind ending after the names', frame('B', cstr('p'), cstr('s'))],
      ['Execute without maxRows', frame('E', cstr('p'))],
    ])('%s throws MalformedMessageError and changes nothing', (_, bad) => {
      const tracker = new StatementTracker();
      feed(tracker, parse('s', 'SELECT 1'), bind('p', 's'));
      expect(() => feed(tracker, bad)).toThrow(MalformedMessageError);
      expect(sqlOfPortal(tracker, 'p')).toBe('SELECT 1');
      expect(feed(tracker, bind('q', 's'), execute('q'))[0]!.sql).toBe('SELECT 1');
    });
  });

  describe('commit and rollback', () => {
    it('rollback forgets statements and portals created since the last commit', () => {
      const tracker = new StatementTracker();
      feed(tracker, parse('s', 'DELETE FROM orders'), bind('p', 's'));
      tracker.rollback();
      expect(sqlOfPortal(tracker, 'p')).toBe('');
      expect(feed(tracker, bind('q', 's'), execute('q'))[0]!.sql).toBe('');
    });

    it('rollback restores overwritten statements and portals to their committed SQL', () => {
      const tracker = new StatementTracker();
      feed(tracker, parse('', 'SELECT 1'), bind('', ''), parse('s', 'SELECT 2'), bind('p', 's'));
      tracker.commit();
      feed(
        tracker,
        parse('', 'DROP TABLE a'),
        bind('', ''),
        close('S', 's'),
        parse('s', 'DROP TABLE b'),
        close('S', 's'),
        parse('s', 'DROP TABLE c'),
        bind('p', 's'),
      );
      expect(sqlOfPortal(tracker, '')).toBe('DROP TABLE a');
      expect(sqlOfPortal(tracker, 'p')).toBe('DROP TABLE c');
      tracker.rollback();
      expect(sqlOfPortal(tracker, '')).toBe('SELECT 1');
      expect(sqlOfPortal(tracker, 'p')).toBe('SELECT 2');
      expect(feed(tracker, bind('probe', ''), execute('probe'))[0]!.sql).toBe('SELECT 1');
      expect(feed(tracker, bind('probe', 's'), execute('probe'))[0]!.sql).toBe('SELECT 2');
    });

    it('rollback brings back what was closed or unbound since the last commit', () => {
      const tracker = new StatementTracker();
      feed(tracker, parse('s', 'SELECT 1'), bind('p', 's'), bind('q', 's'));
      tracker.commit();
      feed(tracker, close('S', 's'), close('P', 'p'), bind('q', 'missing'));
      expect(sqlOfPortal(tracker, 'p')).toBe('');
      expect(sqlOfPortal(tracker, 'q')).toBe('');
      tracker.rollback();
      expect(sqlOfPortal(tracker, 'p')).toBe('SELECT 1');
      expect(sqlOfPortal(tracker, 'q')).toBe('SELECT 1');
      expect(feed(tracker, bind('r', 's'), execute('r'))[0]!.sql).toBe('SELECT 1');
    });

    it('rollback undoes a name set, closed and set again, back to its committed SQL', () => {
      const tracker = new StatementTracker();
      feed(tracker, parse('s', 'SELECT 1'), bind('p', 's'));
      tracker.commit();
      feed(tracker, parse('s', 'SELECT 2'), close('S', 's'), parse('s', 'SELECT 3'), bind('p', 's'));
      tracker.rollback();
      expect(sqlOfPortal(tracker, 'p')).toBe('SELECT 1');
      expect(feed(tracker, bind('r', 's'), execute('r'))[0]!.sql).toBe('SELECT 1');
    });

    it('commit keeps the batch: a later rollback does not undo it', () => {
      const tracker = new StatementTracker();
      feed(tracker, parse('s', 'SELECT 1'), bind('p', 's'));
      tracker.commit();
      feed(tracker, parse('t', 'SELECT 2'));
      tracker.rollback();
      tracker.rollback();
      expect(sqlOfPortal(tracker, 'p')).toBe('SELECT 1');
      expect(feed(tracker, bind('q', 't'), execute('q'))[0]!.sql).toBe('');
    });

    it('rollback with nothing to undo is harmless', () => {
      const tracker = new StatementTracker();
      tracker.rollback();
      tracker.commit();
      tracker.rollback();
      expect(sqlOfPortal(tracker, '')).toBe('');
    });

    it('property: after commit, any batch followed by rollback leaves every name as it was', () => {
      const names = ['', 'a', 'b'];
      const sqls = ['SELECT 1', 'DELETE FROM t', 'UPDATE t SET x = 1', ''];
      const name = fc.constantFrom(...names);
      const op = fc.oneof(
        fc.tuple(name, fc.constantFrom(...sqls)).map(([n, sql]) => parse(n, sql)),
        fc.tuple(name, fc.constantFrom(...names, 'missing')).map(([p, s]) => bind(p, s)),
        fc.tuple(fc.constantFrom<'S' | 'P'>('S', 'P'), name).map(([t, n]) => close(t, n)),
        name.map((p) => execute(p)),
        fc.constant(sync()),
      );
      /** What each portal and each statement resolves to; probing is itself rolled back. */
      const observe = (tracker: StatementTracker) => {
        tracker.commit();
        const portals = names.map((p) => sqlOfPortal(tracker, p));
        const statements = names.map((s) => feed(tracker, bind('probe', s), execute('probe'))[0]!.sql);
        tracker.rollback();
        return { portals, statements };
      };
      fc.assert(
        fc.property(
          fc.array(op, { maxLength: 12 }),
          fc.array(op, { maxLength: 12 }),
          (committed, refused) => {
            const tracker = new StatementTracker();
            feed(tracker, ...committed);
            const before = observe(tracker);
            feed(tracker, ...refused);
            tracker.rollback();
            expect(observe(tracker)).toEqual(before);
          },
        ),
      );
    });
  });
});
