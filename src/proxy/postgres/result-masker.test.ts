import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cstring, fe, int16, int32, message } from '../../../test/helpers/raw-wire-session.js';
import type { MaskStrategy } from '../../masking/mask-strategy.js';
import type { SensitiveClass } from '../../masking/sensitive-class.js';
import { contentScanMask, PgType, scrubber } from '../../masking/value-masks.js';
import { type Frame, MessageFramer } from '../../wire/postgres/message-framer.js';
import { decodeDataRow, encodeDataRow } from '../../wire/postgres/result-messages.js';
import type {
  CopyPlan,
  ResultColumn,
  ResultPlan,
  SessionResultMasking,
  ValueMask,
} from '../result-masking.js';
import { escapeText } from './copy-row-rewriter.js';
import { ResultMasker, ResultStreamDesyncError } from './result-masker.js';

/** Masks every value of a column named `secret` with `***`, and records what it was asked. */
class FakeMasking implements SessionResultMasking {
  readonly asked: { sql: string; index: number; columns: readonly ResultColumn[] }[] = [];
  planRows(sql: string, index: number, columns: readonly ResultColumn[]): ResultPlan | undefined {
    this.asked.push({ sql, index, columns });
    if (!columns.some((c) => c.name === 'secret')) return undefined;
    return { columns: columns.map((c) => (c.name === 'secret' ? () => Buffer.from('***') : undefined)) };
  }
  planCopy(): CopyPlan | undefined {
    return undefined;
  }
  scrubText(text: string): string {
    return text.replaceAll('4111', '####');
  }
}

const be = {
  parseComplete: () => message('1'),
  bindComplete: () => message('2'),
  closeComplete: () => message('3'),
  noData: () => message('n'),
  rowDescription: (...names: string[]) =>
    message(
      'T',
      int16(names.length),
      ...names.flatMap((name) => [
        cstring(name),
        int32(0),
        int16(0),
        int32(25),
        int16(-1),
        int32(-1),
        int16(0),
      ]),
    ),
  dataRow: (...values: string[]) => encodeDataRow(values.map((v) => Buffer.from(v))),
  commandComplete: (tag: string) => message('C', cstring(tag)),
  error: (text: string) =>
    message('E', Buffer.from('SERROR\0C22P02\0'), Buffer.from(`M${text}\0`), Buffer.from([0])),
  notice: (text: string) =>
    message('N', Buffer.from('SNOTICE\0'), Buffer.from(`M${text}\0`), Buffer.from([0])),
  ready: () => message('Z', Buffer.from('I')),
};

function frames(bytes: Buffer): Frame[] {
  return new MessageFramer(1 << 30).push(bytes);
}

function rowsIn(bytes: Buffer): string[][] {
  return frames(bytes)
    .filter((f) => f.type === 0x44)
    .map((f) => decodeDataRow(f.body).map((v) => v?.toString() ?? 'NULL'));
}

describe('ResultMasker', () => {
  it('masks simple-query rows per statement and passes other statements untouched', () => {
    const masking = new FakeMasking();
    const masker = new ResultMasker(masking);
    masker.outgoing(fe.query('select secret, id from t; select id from t'));
    const answer = Buffer.concat([
      be.rowDescription('secret', 'id'),
      be.dataRow('s3cr3t', '1'),
      be.commandComplete('SELECT 1'),
      be.rowDescription('id'),
      be.dataRow('2'),
      be.commandComplete('SELECT 1'),
      be.ready(),
    ]);
    const out = masker.incoming(answer);
    expect(rowsIn(out)).toEqual([['***', '1'], ['2']]);
    expect(masking.asked.map((a) => a.index)).toEqual([0, 1]);
  });

  it('masks rows split across chunks, byte by byte', () => {
    const masker = new ResultMasker(new FakeMasking());
    masker.outgoing(fe.query('select secret from t'));
    const answer = Buffer.concat([
      be.rowDescription('secret'),
      be.dataRow('abc'),
      be.dataRow('def'),
      be.commandComplete('SELECT 2'),
      be.ready(),
    ]);
    const out = Buffer.concat([...answer].map((byte) => masker.incoming(Buffer.from([byte]))));
    expect(rowsIn(out)).toEqual([['***'], ['***']]);
  });

  it('describes a portal the agent executes without Describe, and hides that answer', () => {
    const masker = new ResultMasker(new FakeMasking());
    const sent = masker.outgoing(
      Buffer.concat([fe.parse('s1', 'select secret from t'), fe.bind('', 's1'), fe.execute(''), fe.sync()]),
    );
    expect(frames(sent).map((f) => String.fromCharCode(f.type))).toEqual(['P', 'B', 'D', 'E', 'S']);
    const out = masker.incoming(
      Buffer.concat([
        be.parseComplete(),
        be.bindComplete(),
        be.rowDescription('secret'),
        be.dataRow('s3cr3t'),
        be.commandComplete('SELECT 1'),
        be.ready(),
      ]),
    );
    expect(frames(out).map((f) => String.fromCharCode(f.type))).toEqual(['1', '2', 'D', 'C', 'Z']);
    expect(rowsIn(out)).toEqual([['***']]);
  });

  it('hides its own Describe answer when it arrives as a chunk of its own', () => {
    const masker = new ResultMasker(new FakeMasking());
    masker.outgoing(
      Buffer.concat([fe.parse('s1', 'select secret from t'), fe.bind('', 's1'), fe.execute(''), fe.sync()]),
    );
    const out = [
      Buffer.concat([be.parseComplete(), be.bindComplete()]),
      be.rowDescription('secret'),
      Buffer.concat([be.dataRow('s3cr3t'), be.commandComplete('SELECT 1'), be.ready()]),
    ].map((chunk) => masker.incoming(chunk));
    expect(out[1]).toHaveLength(0);
    expect(frames(Buffer.concat(out)).map((f) => String.fromCharCode(f.type))).toEqual([
      '1',
      '2',
      'D',
      'C',
      'Z',
    ]);
  });

  it('uses the description the agent asked for and does not add another', () => {
    const masker = new ResultMasker(new FakeMasking());
    const batch = Buffer.concat([
      fe.parse('', 'select secret from t'),
      fe.bind('', ''),
      fe.describe('P', ''),
      fe.execute(''),
      fe.sync(),
    ]);
    expect(masker.outgoing(batch)).toBe(batch);
    const out = masker.incoming(
      Buffer.concat([
        be.parseComplete(),
        be.bindComplete(),
        be.rowDescription('secret'),
        be.dataRow('x'),
        be.commandComplete('SELECT 1'),
        be.ready(),
      ]),
    );
    expect(frames(out).map((f) => String.fromCharCode(f.type))).toEqual(['1', '2', 'T', 'D', 'C', 'Z']);
    expect(rowsIn(out)).toEqual([['***']]);
  });

  it('a named Parse the server refused does not relabel the statement that exists', () => {
    const masking = new FakeMasking();
    const masker = new ResultMasker(masking);
    masker.outgoing(Buffer.concat([fe.parse('s', 'select secret from t'), fe.sync()]));
    masker.incoming(Buffer.concat([be.parseComplete(), be.ready()]));
    // The agent tries to rename s; the server refuses (42P05) and skips to Sync.
    masker.outgoing(Buffer.concat([fe.parse('s', 'select 1'), fe.bind('', 's'), fe.execute(''), fe.sync()]));
    masker.incoming(Buffer.concat([be.error('prepared statement "s" already exists'), be.ready()]));
    masker.outgoing(Buffer.concat([fe.bind('', 's'), fe.execute(''), fe.sync()]));
    const out = masker.incoming(
      Buffer.concat([
        be.bindComplete(),
        be.rowDescription('secret'),
        be.dataRow('x'),
        be.commandComplete('SELECT 1'),
        be.ready(),
      ]),
    );
    expect(rowsIn(out)).toEqual([['***']]);
    expect(masking.asked.at(-1)?.sql).toBe('select secret from t');
  });

  it('scrubs error text and keeps the error in place', () => {
    const masker = new ResultMasker(new FakeMasking());
    masker.outgoing(fe.query('select x'));
    const out = masker.incoming(Buffer.concat([be.error('bad value 4111'), be.ready()]));
    expect(out.toString('latin1')).toContain('bad value ####');
    expect(out.toString('latin1')).not.toContain('4111');
  });

  it('scrubs NOTIFY payloads', () => {
    const masker = new ResultMasker(new FakeMasking());
    const notification = message('A', int32(42), cstring('orders'), cstring('card 4111 ok'));
    const out = masker.incoming(notification);
    expect(out.toString('latin1')).toContain('card #### ok');
    expect(out.readInt32BE(5)).toBe(42);
    const clean = message('A', int32(42), cstring('orders'), cstring('nothing here'));
    expect(masker.incoming(clean)).toBe(clean);
  });

  it('rewrites rows like a row-by-row reference, whatever the values, masks and chunk boundaries', () => {
    // Masks of every kind of answer: a shared replacement, NULL, kept, and one computed from the value.
    const STAR: ValueMask = () => Buffer.from('***');
    const reverseIfLong: ValueMask = (bytes, start, end) =>
      end - start > 3 ? Buffer.from(bytes.subarray(start, end)).reverse() : undefined;
    const grow: ValueMask = (bytes, start, end) =>
      Buffer.concat([bytes.subarray(start, end), Buffer.alloc(300, 0x61)]);
    const masks = [undefined, STAR, () => null, () => undefined, reverseIfLong, grow];
    const value = fc.oneof(
      fc.constant(null),
      fc.constant(''),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.string({ unit: 'grapheme', minLength: 100, maxLength: 400 }),
    );
    /** The rows as the reference masks them: each DataRow decoded, masked value by value, encoded again. */
    const reference = (rows: readonly (string | null)[][], plan: readonly (ValueMask | undefined)[]) =>
      rows.map((row) =>
        encodeDataRow(
          row.map((text, column) => {
            if (text === null) return null;
            const bytes = Buffer.from(text, 'utf8');
            const masked = plan[column]?.(bytes, 0, bytes.length);
            return masked === undefined ? bytes : masked;
          }),
        ),
      );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((width) =>
          fc.record({
            rows: fc.array(fc.array(value, { minLength: width, maxLength: width }), { maxLength: 8 }),
            plan: fc.array(fc.constantFrom(...masks), { minLength: width, maxLength: width }),
            notice: fc.boolean(),
            cuts: fc.array(fc.nat(), { maxLength: 6 }),
          }),
        ),
        ({ rows, plan, notice, cuts }) => {
          const width = plan.length;
          const names = Array.from({ length: width }, (_, i) => `c${i}`);
          const masking: SessionResultMasking = {
            planRows: () => ({ columns: plan }),
            planCopy: () => undefined,
            scrubText: (text) => text.replaceAll('4111', '####'),
          };
          const masker = new ResultMasker(masking);
          masker.outgoing(fe.query('select'));
          const dataRows = rows.map((row) =>
            encodeDataRow(row.map((v) => (v === null ? null : Buffer.from(v)))),
          );
          // A notice in the middle is rewritten too: a replacement between rewritten rows.
          const middle = notice ? [be.notice('card 4111')] : [];
          const half = Math.floor(dataRows.length / 2);
          // The result as the server sends it (or as the agent should get it): the notice mid-rows.
          const result = (rowMessages: readonly Buffer[], between: readonly Buffer[]) =>
            Buffer.concat([
              be.rowDescription(...names),
              ...rowMessages.slice(0, half),
              ...between,
              ...rowMessages.slice(half),
              be.commandComplete(`SELECT ${rows.length}`),
              be.ready(),
            ]);
          const input = result(dataRows, middle);
          const offsets = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b);
          const out: Buffer[] = [];
          let at = 0;
          for (const offset of [...offsets, input.length]) {
            out.push(masker.incoming(input.subarray(at, offset)));
            at = offset;
          }
          const expectedRows = reference(rows, plan);
          const expected = result(expectedRows, notice ? [be.notice('card ####')] : []);
          expect(Buffer.concat(out).equals(expected)).toBe(true);
        },
      ),
    );
  });

  it('rewrites COPY rows like a value-by-value reference, whatever the rows, messages and chunks', () => {
    const STAR: ValueMask = () => Buffer.from('***');
    const reverseIfLong: ValueMask = (bytes, start, end) =>
      end - start > 3 ? Buffer.from(bytes.subarray(start, end)).reverse() : undefined;
    // Content scanning as a role configures it, against the scrubber on the decoded text as reference.
    const classes = new Map<SensitiveClass, MaskStrategy>([
      ['email', 'redact'],
      ['phone', 'redact'],
      ['credit_card', 'redact'],
    ]);
    const scan = contentScanMask(classes, PgType.text, false, undefined)!;
    const scrub = scrubber(classes, undefined);
    const scanReference: ValueMask = (bytes, start, end) => {
      const text = bytes.toString('utf8', start, end);
      const clean = scrub(text);
      return clean === text ? undefined : Buffer.from(clean, 'utf8');
    };
    const masks = [undefined, STAR, () => null, () => undefined, reverseIfLong, scan];
    const referenceOf = (mask: ValueMask | undefined) => (mask === scan ? scanReference : mask);
    const value = fc.oneof(
      fc.constant(null),
      fc.constantFrom('', '\\', '\t', '\n', '\r', 'a\\b', '\\N', 'é\tü'),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      // Notes with an email or a phone, escapes and delimiters around them or next to the item.
      fc
        .tuple(
          fc.constantFrom('', 'Call back on ', 'a\\b ', 'x\t', 'é ', '\n'),
          fc.constantFrom(
            '+1 415 555 0142',
            '+44 20 7946 0958',
            'smith.home20@example.org',
            '4111 1111 1111 1111',
            '+1 415\t555 0142',
          ),
          fc.constantFrom('', ' about the refund.', '\t', '\\', '\r', 'x', ' é'),
        )
        .map((parts) => parts.join('')),
    );
    const TAB = Buffer.from('\t');
    const NULL = Buffer.from('\\N');
    /** A row as COPY text, its values masked by `plan` when given (bytes throughout: masks may break UTF-8). */
    const line = (row: readonly (string | null)[], plan?: readonly (ValueMask | undefined)[]) =>
      Buffer.concat([
        ...row.flatMap((text, column) => {
          const field = (() => {
            if (text === null) return NULL;
            const bytes = Buffer.from(text, 'utf8');
            const masked = referenceOf(plan?.[column])?.(bytes, 0, bytes.length);
            return masked === null ? NULL : escapeText(masked ?? bytes, 9);
          })();
          return column === 0 ? [field] : [TAB, field];
        }),
        Buffer.from('\n'),
      ]);
    const copyData = (body: Buffer) => message('d', body);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((width) =>
          fc.record({
            rows: fc.array(fc.array(value, { minLength: width, maxLength: width }), { maxLength: 6 }),
            plan: fc.array(fc.constantFrom(...masks), { minLength: width, maxLength: width }),
            // Where messages end inside the COPY text (besides after each row), and where chunks end.
            splits: fc.array(fc.nat(), { maxLength: 3 }),
            perRow: fc.boolean(),
            cuts: fc.array(fc.nat(), { maxLength: 5 }),
          }),
        ),
        ({ rows, plan, splits, perRow, cuts }) => {
          const masker = new ResultMasker({
            planRows: () => undefined,
            planCopy: () => ({ columns: plan, delimiter: '\t', nullText: '\\N', csv: undefined }),
            scrubText: (text) => text,
          });
          masker.outgoing(fe.query('copy t to stdout'));
          const text = Buffer.concat(rows.map((row) => line(row)));
          const masked = rows.map((row) => line(row, plan));
          const rowEnds: number[] = [];
          for (let at = text.indexOf(10); at >= 0; at = text.indexOf(10, at + 1)) rowEnds.push(at + 1);
          const bounds = [
            ...new Set([...(perRow ? rowEnds : []), ...splits.map((split) => split % (text.length + 1))]),
          ]
            .filter((bound) => bound > 0 && bound < text.length)
            .sort((a, b) => a - b);
          const inputs: Buffer[] = [];
          const expected: Buffer[] = [];
          let from = 0;
          let row = 0;
          for (const to of [...bounds, text.length]) {
            inputs.push(copyData(text.subarray(from, to)));
            // A message carries on the rows it completes.
            const completed: Buffer[] = [];
            while (row < rowEnds.length && rowEnds[row]! <= to) completed.push(masked[row++]!);
            expected.push(copyData(Buffer.concat(completed)));
            from = to;
          }
          const columns = Buffer.alloc(2 * plan.length);
          const head = message('H', Buffer.from([0]), int16(plan.length), columns);
          const tail = [message('c'), be.commandComplete(`COPY ${rows.length}`), be.ready()];
          const input = Buffer.concat([head, ...inputs, ...tail]);
          const offsets = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b);
          const out: Buffer[] = [];
          let at = 0;
          for (const offset of [...offsets, input.length]) {
            out.push(masker.incoming(input.subarray(at, offset)));
            at = offset;
          }
          expect(Buffer.concat(out).equals(Buffer.concat([head, ...expected, ...tail]))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('fails closed when the upstream answers something never asked', () => {
    const masker = new ResultMasker(new FakeMasking());
    expect(() => masker.incoming(be.dataRow('x'))).toThrow(ResultStreamDesyncError);
    expect(() => new ResultMasker(new FakeMasking()).incoming(be.ready())).toThrow(ResultStreamDesyncError);
  });
});
