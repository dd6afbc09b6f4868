/** BackendStreamScanner over a realistic upstream stream, fed whole, byte by byte and in random chunks. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cstr, int16, int32, thrown } from '../../../test/helpers/wire-bytes.js';
import { BackendStreamScanner } from './backend-stream-scanner.js';
import type { TransactionStatus } from './protocol-constants.js';

/** A typed backend message: type byte, Int32 length counting itself, body. */
function typed(type: string, ...body: Buffer[]): Buffer {
  const content = Buffer.concat(body);
  return Buffer.concat([Buffer.from(type, 'ascii'), int32(content.length + 4), content]);
}

/** RowDescription with text-format int4 columns. */
const rowDescription = (...columns: string[]): Buffer =>
  typed(
    'T',
    int16(columns.length),
    ...columns.flatMap((name, i) => [
      cstr(name),
      int32(16384),
      int16(i + 1),
      int32(23),
      int16(4),
      int32(-1),
      int16(0),
    ]),
  );

/** DataRow; null marks a NULL column. */
const dataRow = (...values: (string | null)[]): Buffer =>
  typed(
    'D',
    int16(values.length),
    ...values.flatMap((v) =>
      v === null ? [int32(-1)] : [int32(Buffer.byteLength(v)), Buffer.from(v, 'utf8')],
    ),
  );

const commandComplete = (tag: string): Buffer => typed('C', cstr(tag));
const readyForQuery = (status: TransactionStatus): Buffer => typed('Z', Buffer.from(status, 'ascii'));
const errorResponse = (code: string, message: string): Buffer =>
  typed(
    'E',
    Buffer.from('S'),
    cstr('ERROR'),
    Buffer.from('C'),
    cstr(code),
    Buffer.from('M'),
    cstr(message),
    Buffer.from([0]),
  );
const notification = (pid: number, channel: string, payload: string): Buffer =>
  typed('A', int32(pid), cstr(channel), cstr(payload));

/** SELECT; BEGIN; a failing statement; a NOTIFY; ROLLBACK; a cancelled query; an extended-protocol empty query. */
const MESSAGES: readonly Buffer[] = [
  rowDescription('id', 'n'),
  dataRow('1', 'one'),
  dataRow('2', null),
  commandComplete('SELECT 2'),
  readyForQuery('I'),
  commandComplete('BEGIN'),
  readyForQuery('T'),
  errorResponse('42P01', 'relation "nope" does not exist'),
  readyForQuery('E'),
  notification(4242, 'jobs', 'payload ✓'),
  commandComplete('ROLLBACK'),
  readyForQuery('I'),
  errorResponse('57014', 'canceling statement due to user request'),
  typed('1'),
  typed('2'),
  typed('n'),
  typed('I'),
  readyForQuery('I'),
];
const STREAM = Buffer.concat(MESSAGES);

/** Absolute offsets where a message ends (0 included: nothing scanned is a boundary). */
const MESSAGE_ENDS = new Set<number>([0]);
/** Each ReadyForQuery's status and the absolute offset just past it. */
const EXPECTED_READY: { status: string; end: number }[] = [];
{
  let offset = 0;
  for (const m of MESSAGES) {
    offset += m.length;
    MESSAGE_ENDS.add(offset);
    if (m[0] === 0x5a) EXPECTED_READY.push({ status: String.fromCharCode(m[5]!), end: offset });
  }
}
const EXPECTED_ERRORS = MESSAGES.filter((m) => m[0] === 0x45).length;

interface ScanRecord {
  /** ReadyForQuery as reported: status, endOffset within its chunk, and that chunk's start. */
  readonly ready: { status: TransactionStatus; endOffset: number; chunkStart: number }[];
  errors: number;
  /** atBoundary after each chunk, keyed by the absolute offset scanned up to. */
  readonly boundaries: { scannedTo: number; atBoundary: boolean }[];
}

/** Scans STREAM cut at `cuts` (sorted absolute offsets) and records everything the scanner said. */
function scanInChunks(stream: Buffer, cuts: readonly number[]): ScanRecord {
  const record: ScanRecord = { ready: [], errors: 0, boundaries: [] };
  let chunkStart = 0;
  const scanner = new BackendStreamScanner({
    onReadyForQuery: (status, endOffset) => record.ready.push({ status, endOffset, chunkStart }),
    onErrorResponse: () => {
      record.errors++;
    },
  });
  for (const cut of [...cuts, stream.length]) {
    scanner.scan(stream.subarray(chunkStart, cut));
    record.boundaries.push({ scannedTo: cut, atBoundary: scanner.atBoundary });
    chunkStart = cut;
  }
  return record;
}

/** Checks a record against the stream's known structure. */
function expectFaithful(record: ScanRecord): void {
  expect(record.ready.map((r) => ({ status: r.status, end: r.chunkStart + r.endOffset }))).toEqual(
    EXPECTED_READY,
  );
  expect(record.errors).toBe(EXPECTED_ERRORS);
  for (const { scannedTo, atBoundary } of record.boundaries) {
    expect(atBoundary, `after ${scannedTo} bytes`).toBe(MESSAGE_ENDS.has(scannedTo));
  }
}

const noopObserver = { onReadyForQuery: () => {}, onErrorResponse: () => {} };

describe('BackendStreamScanner', () => {
  it('starts at a boundary with no error seen', () => {
    const scanner = new BackendStreamScanner(noopObserver);
    expect(scanner.atBoundary).toBe(true);
    expect(scanner.lastMessageWasError).toBe(false);
    scanner.scan(Buffer.alloc(0));
    expect(scanner.atBoundary).toBe(true);
  });

  it('fed whole, reports each ReadyForQuery with its end offset and each ErrorResponse', () => {
    const record = scanInChunks(STREAM, []);
    expect(record.ready.map((r) => r.status)).toEqual(['I', 'T', 'E', 'I', 'I']);
    expect(record.ready.map((r) => r.endOffset)).toEqual(EXPECTED_READY.map((r) => r.end));
    expect(record.ready.at(-1)!.endOffset).toBe(STREAM.length);
    expect(record.errors).toBe(2);
    expectFaithful(record);
  });

  it('fed byte by byte, reports the same statuses with endOffset 1 within each one-byte chunk', () => {
    const cuts = Array.from({ length: STREAM.length - 1 }, (_, i) => i + 1);
    const record = scanInChunks(STREAM, cuts);
    expect(record.ready.every((r) => r.endOffset === 1)).toBe(true);
    expectFaithful(record);
  });

  it('fed in two pieces cut at every offset, says the same thing', () => {
    for (let cut = 0; cut <= STREAM.length; cut++) expectFaithful(scanInChunks(STREAM, [cut]));
  });

  it('property: any chunking reports the same statuses, end offsets, errors and boundaries', () => {
    const cutsArb = fc
      .uniqueArray(fc.integer({ min: 0, max: STREAM.length }), { maxLength: 40 })
      .map((cuts) => [...cuts].sort((a, b) => a - b));
    fc.assert(
      fc.property(cutsArb, (cuts) => {
        expectFaithful(scanInChunks(STREAM, cuts));
      }),
      { numRuns: 500 },
    );
  });

  it('reports the end offset within the chunk that holds the status byte, not the header', () => {
    const ready = readyForQuery('T');
    const seen: number[] = [];
    const scanner = new BackendStreamScanner({
      onReadyForQuery: (_, end) => seen.push(end),
      onErrorResponse: () => {},
    });
    scanner.scan(Buffer.concat([commandComplete('BEGIN'), ready.subarray(0, 5)]));
    expect(seen).toEqual([]);
    expect(scanner.atBoundary).toBe(false);
    scanner.scan(Buffer.concat([ready.subarray(5), dataRow('x')]));
    expect(seen).toEqual([1]);
    expect(scanner.atBoundary).toBe(true);
  });

  it('counts an ErrorResponse as soon as its header is complete', () => {
    const error = errorResponse('42601', 'syntax error');
    let errors = 0;
    const scanner = new BackendStreamScanner({ onReadyForQuery: () => {}, onErrorResponse: () => errors++ });
    scanner.scan(error.subarray(0, 4));
    expect(errors).toBe(0);
    scanner.scan(error.subarray(4, 6));
    expect(errors).toBe(1);
    scanner.scan(error.subarray(6));
    expect(errors).toBe(1);
  });

  describe('lastMessageWasError', () => {
    it('is true during and after an ErrorResponse, false once another message starts', () => {
      const error = errorResponse('XX000', 'boom');
      const scanner = new BackendStreamScanner(noopObserver);
      scanner.scan(commandComplete('SELECT 1'));
      expect(scanner.lastMessageWasError).toBe(false);
      scanner.scan(error.subarray(0, 8));
      expect(scanner.lastMessageWasError).toBe(true);
      expect(scanner.atBoundary).toBe(false);
      scanner.scan(error.subarray(8));
      expect(scanner.lastMessageWasError).toBe(true);
      expect(scanner.atBoundary).toBe(true);
      scanner.scan(readyForQuery('I'));
      expect(scanner.lastMessageWasError).toBe(false);
    });

    it('is false after a NoticeResponse', () => {
      const scanner = new BackendStreamScanner(noopObserver);
      scanner.scan(typed('N', Buffer.from('S'), cstr('NOTICE'), Buffer.from([0])));
      expect(scanner.lastMessageWasError).toBe(false);
    });

    it('is true when a FATAL error is the last thing before the upstream closes', () => {
      const scanner = new BackendStreamScanner(noopObserver);
      scanner.scan(Buffer.concat([readyForQuery('I'), errorResponse('57P01', 'terminating connection')]));
      expect(scanner.atBoundary).toBe(true);
      expect(scanner.lastMessageWasError).toBe(true);
    });
  });

  describe('a broken upstream', () => {
    it.each([0, 3, -1])('throws on a message length of %i', (length) => {
      const bad = Buffer.concat([Buffer.from('C', 'ascii'), int32(length)]);
      const error = thrown(() => new BackendStreamScanner(noopObserver).scan(bad));
      expect((error as Error).message).toMatch(new RegExp(`length of ${length}`));
    });

    it('throws on a bad length whose header arrives split across chunks', () => {
      const scanner = new BackendStreamScanner(noopObserver);
      const bad = Buffer.concat([commandComplete('SELECT 1'), Buffer.from('D', 'ascii'), int32(2)]);
      scanner.scan(bad.subarray(0, bad.length - 2));
      expect(() => scanner.scan(bad.subarray(bad.length - 2))).toThrow(/length of 2/);
    });

    it('throws on a ReadyForQuery without a status byte', () => {
      expect(() => new BackendStreamScanner(noopObserver).scan(typed('Z'))).toThrow(/without a status/);
    });

    it('throws on a ReadyForQuery longer than one byte', () => {
      expect(() => new BackendStreamScanner(noopObserver).scan(typed('Z', Buffer.from('II')))).toThrow(
        /unexpected length/,
      );
    });

    it('throws on an unknown ReadyForQuery status', () => {
      expect(() => new BackendStreamScanner(noopObserver).scan(typed('Z', Buffer.from('X')))).toThrow(
        /status/,
      );
    });
  });
});

describe('BackendStreamScanner statement ends', () => {
  /** What onStatementEnd reports for `stream` cut at `cuts`. */
  function statementEnds(stream: Buffer, cuts: readonly number[]): string[] {
    const ends: string[] = [];
    const scanner = new BackendStreamScanner({
      onReadyForQuery: () => {},
      onErrorResponse: () => {},
      onStatementEnd: (kind, detail) => ends.push(`${kind}:${detail}`),
    });
    let start = 0;
    for (const cut of [...cuts, stream.length]) {
      scanner.scan(stream.subarray(start, cut));
      start = cut;
    }
    return ends;
  }

  const EXPECTED_ENDS = [
    'complete:SELECT 2',
    'complete:BEGIN',
    'error:42P01',
    'complete:ROLLBACK',
    'error:57014',
    'empty:',
  ];

  it('reports each CommandComplete tag, ErrorResponse SQLSTATE and EmptyQueryResponse in order', () => {
    expect(statementEnds(STREAM, [])).toEqual(EXPECTED_ENDS);
  });

  it('reports the same whatever the chunking', () => {
    const byteByByte = Array.from({ length: STREAM.length - 1 }, (_, i) => i + 1);
    expect(statementEnds(STREAM, byteByByte)).toEqual(EXPECTED_ENDS);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: STREAM.length - 1 })), (cuts) => {
        expect(
          statementEnds(
            STREAM,
            [...cuts].sort((a, b) => a - b),
          ),
        ).toEqual(EXPECTED_ENDS);
      }),
    );
  });

  it('reports PortalSuspended, and an error whose long message follows its SQLSTATE', () => {
    const stream = Buffer.concat([
      typed('s'),
      errorResponse('22012', 'x'.repeat(10_000)),
      typed('C', cstr('UPDATE 3')),
    ]);
    expect(statementEnds(stream, [3, 40, 9000])).toEqual(['suspended:', 'error:22012', 'complete:UPDATE 3']);
  });

  it('reports an empty SQLSTATE when the error carries none within its first bytes', () => {
    const stream = typed(
      'E',
      Buffer.from('M'),
      cstr('y'.repeat(1000)),
      Buffer.from('C'),
      cstr('XX000'),
      Buffer.from([0]),
    );
    expect(statementEnds(stream, [])).toEqual(['error:']);
  });
});
