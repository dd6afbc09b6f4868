import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CopyPlan } from '../result-masking.js';
import { CopyRowRewriter, escapeText, unescapeText } from './copy-row-rewriter.js';

const STAR = () => Buffer.from('***');
const NULL = () => null;

function plan(columns: CopyPlan['columns'], csv?: CopyPlan['csv'], delimiter = csv ? ',' : '\t'): CopyPlan {
  return { columns, delimiter, nullText: csv ? '' : '\\N', csv };
}

function run(rewriter: CopyRowRewriter, ...chunks: string[]): string {
  const out = chunks.map((chunk) => rewriter.push(Buffer.from(chunk, 'utf8')).toString('utf8')).join('');
  rewriter.end();
  return out;
}

describe('CopyRowRewriter, text format', () => {
  it('masks the planned columns and keeps NULLs and escapes of the others', () => {
    const rewriter = new CopyRowRewriter(plan([undefined, STAR, NULL]));
    expect(run(rewriter, '1\tann@example.com\t219-09-9999\n2\t\\N\tx\\ty\n')).toBe(
      '1\t***\t\\N\n2\t\\N\t\\N\n',
    );
  });

  it('rewrites like a value-by-value reference, whatever the rows, masks and message boundaries', () => {
    // The reference: split each row into fields, mask the planned ones, join them back.
    const reference = (rows: (string | null)[][], masks: CopyPlan['columns'][number][]) =>
      rows
        .map((row) =>
          row
            .map((value, column) => {
              const mask = masks[column];
              if (value === null) return '\\N';
              if (mask === undefined) return escapeText(Buffer.from(value, 'utf8'), 9).toString('utf8');
              const bytes = Buffer.from(value, 'utf8');
              const masked = mask(bytes, 0, bytes.length);
              if (masked === null) return '\\N';
              return escapeText(masked === undefined ? bytes : masked, 9).toString('utf8');
            })
            .join('\t'),
        )
        .map((line) => `${line}\n`)
        .join('');
    const reverse = (bytes: Buffer, start: number, end: number) =>
      Buffer.from(bytes.subarray(start, end)).reverse();
    // Shared replacements (placeholders), some needing escapes: more of them than the rewriter remembers.
    const shared = ['[redacted]', 'a\tb', '\\', 'x\ny', '****@example.com', 'z\r'].map((text) => {
      const replacement = Buffer.from(text, 'utf8');
      return () => replacement;
    });
    const value = fc.oneof(
      fc.constant(null),
      fc.string({ unit: 'grapheme' }),
      // Longer than the stretch searched for a delimiter in JavaScript before a native search takes over.
      fc.string({ unit: 'grapheme-ascii', minLength: 40, maxLength: 70 }),
      fc.constantFrom('\\', '\t', '\n', 'a\\b'),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((width) =>
          fc.record({
            rows: fc.array(fc.array(value, { minLength: width, maxLength: width }), { maxLength: 6 }),
            masks: fc.array(fc.constantFrom(undefined, STAR, NULL, reverse, ...shared), {
              minLength: width,
              maxLength: width,
            }),
            cuts: fc.array(fc.nat(), { maxLength: 4 }),
          }),
        ),
        ({ rows, masks, cuts }) => {
          const input = Buffer.from(
            rows
              .map((row) =>
                row
                  .map((v) => (v === null ? '\\N' : escapeText(Buffer.from(v, 'utf8'), 9).toString('utf8')))
                  .join('\t'),
              )
              .map((line) => `${line}\n`)
              .join(''),
            'utf8',
          );
          const rewriter = new CopyRowRewriter(plan(masks));
          const offsets = [...new Set(cuts.map((cut) => cut % (input.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let at = 0;
          for (const offset of [...offsets, input.length]) {
            chunks.push(rewriter.push(input.subarray(at, offset)));
            at = offset;
          }
          rewriter.end();
          expect(Buffer.concat(chunks).toString('utf8')).toBe(reference(rows, masks));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('holds a row split across messages until its end', () => {
    const rewriter = new CopyRowRewriter(plan([undefined, STAR]));
    expect(rewriter.push(Buffer.from('1\tsec'))).toHaveLength(0);
    expect(rewriter.push(Buffer.from('ret\n2\tx\n')).toString()).toBe('1\t***\n2\t***\n');
    rewriter.end();
  });

  it('fails when the output ends inside a row', () => {
    const rewriter = new CopyRowRewriter(plan([STAR]));
    rewriter.push(Buffer.from('unterminated'));
    expect(() => rewriter.end()).toThrow(/inside a row/);
  });

  it('unescapes what it masks and escapes what it writes (round trip)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const value = Buffer.from(text, 'utf8');
        expect(unescapeText(escapeText(value, 9)).equals(value)).toBe(true);
      }),
    );
    expect(unescapeText(Buffer.from('a\\tb\\\\c\\101\\x41')).toString()).toBe('a\tb\\cAA');
  });

  it('escapes a raw tab or carriage return in a field its mask keeps, as it escapes any value it writes', () => {
    const rewriter = new CopyRowRewriter(plan([() => undefined, undefined], undefined, ','));
    expect(run(rewriter, 'a\rb,d\te\n', 'p\tq,y\n')).toBe('a\\rb,d\te\np\\tq,y\n');
  });

  it('a masked value containing the delimiter or a newline stays one field', () => {
    const rewriter = new CopyRowRewriter(plan([() => Buffer.from('a\tb\nc'), undefined]));
    expect(run(rewriter, 'x\ty\n')).toBe('a\\tb\\nc\ty\n');
  });
});

describe('CopyRowRewriter, CSV format', () => {
  const csv = { quote: '"', escape: '"', header: false };

  it('masks quoted and unquoted fields; an unquoted empty field is NULL', () => {
    const rewriter = new CopyRowRewriter(plan([undefined, STAR, STAR], csv));
    expect(run(rewriter, '1,"a,b ""c""",\n')).toBe('1,"***",\n');
  });

  it('keeps the header line and handles newlines inside quotes', () => {
    const rewriter = new CopyRowRewriter(plan([undefined, STAR], { ...csv, header: true }));
    expect(run(rewriter, 'id,email\n1,"line1\nline2"\n')).toBe('id,email\n1,"***"\n');
  });

  it('uses the configured delimiter and quote', () => {
    const rewriter = new CopyRowRewriter(
      plan([STAR, undefined], { quote: "'", escape: "'", header: false }, '|'),
    );
    expect(run(rewriter, "'a|b'|c\n")).toBe("'***'|c\n");
  });
});
