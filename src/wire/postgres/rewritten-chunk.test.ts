import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RewrittenChunk } from './rewritten-chunk.js';

describe('RewrittenChunk', () => {
  it('gives the source with its replacements, whatever the stretch and replacement sizes', () => {
    // Stretch lengths around the word-wise and native copy thresholds, replacements up to longer than the slack.
    const stretch = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom(63, 64, 65, 159, 160, 161, 700));
    const edit = fc.record({
      gap: stretch,
      removed: fc.integer({ min: 0, max: 40 }),
      replacement: fc.oneof(
        fc.constant(null),
        fc.uint8Array({ maxLength: 20 }),
        fc.uint8Array({ minLength: 250, maxLength: 600 }),
      ),
    });
    fc.assert(
      fc.property(
        fc.array(edit, { maxLength: 8 }),
        stretch,
        fc.integer({ min: 0, max: 7 }),
        (edits, tail, offset) => {
          const length = edits.reduce((sum, e) => sum + e.gap + e.removed, 0) + tail;
          // A source that does not start at its ArrayBuffer's start, as a socket read's slice does not.
          const backing = Buffer.alloc(length + offset);
          for (let i = 0; i < backing.length; i++) backing[i] = (i * 131 + 7) & 0xff;
          const source = backing.subarray(offset);
          const chunk = new RewrittenChunk(source);
          const expected: Buffer[] = [];
          let at = 0;
          for (const { gap, removed, replacement } of edits) {
            expected.push(source.subarray(at, at + gap));
            if (replacement !== null) expected.push(Buffer.from(replacement));
            chunk.replace(at + gap, at + gap + removed, replacement);
            at += gap + removed;
          }
          expected.push(source.subarray(at));
          const result = chunk.result(source.length);
          expect(result.equals(Buffer.concat(expected))).toBe(true);
          if (edits.length === 0) expect(result).toBe(source);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
