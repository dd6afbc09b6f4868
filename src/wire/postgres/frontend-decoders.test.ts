/** Frontend message body decoders: valid bodies, truncated and malformed ones, and arbitrary bytes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cstr, int16, int32, thrown } from '../../../test/helpers/wire-bytes.js';
import { MalformedMessageError } from './body-reader.js';
import {
  decodeBind,
  decodeBindNames,
  decodeEmptyBody,
  decodeExecute,
  decodeFunctionCallOid,
  decodeParse,
  decodePasswordMessage,
  decodeQuery,
  decodeSaslInitialResponse,
  decodeTargetName,
} from './frontend-decoders.js';

const bytes = (...parts: (Buffer | string)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));

/** Parse body: name, SQL, Int16 count, Int32 OIDs. */
const parseBody = (name: string, sql: string, oids: number[] = []): Buffer =>
  bytes(cstr(name), cstr(sql), int16(oids.length), ...oids.map(int32));

/** Bind body with one text parameter and one result format code. */
const bindBody = (portal: string, statement: string): Buffer =>
  bytes(cstr(portal), cstr(statement), int16(1), int16(0), int16(1), int32(2), '42', int16(1), int16(0));

const executeBody = (portal: string, maxRows: number): Buffer => bytes(cstr(portal), int32(maxRows));

/**
 * `body` as a view inside a larger buffer whose neighbouring bytes would make it valid (NULs and more
 * bytes), so a decoder that reads past the view's end would wrongly succeed.
 */
function embedded(body: Buffer): Buffer {
  const padding = Buffer.alloc(64, 0);
  const parent = Buffer.concat([padding, body, padding]);
  return parent.subarray(padding.length, padding.length + body.length);
}

/** Asserts `action` throws MalformedMessageError whose message names `what`. */
function expectMalformed(action: () => unknown, what: string): void {
  const error = thrown(action);
  expect(error).toBeInstanceOf(MalformedMessageError);
  expect((error as Error).message).toContain(what);
}

/** Every strict prefix of `body`, each as a view with valid-looking bytes after it. */
const strictPrefixes = (body: Buffer): Buffer[] =>
  Array.from({ length: body.length }, (_, size) => embedded(body.subarray(0, size)));

describe('decodeQuery', () => {
  it('returns the SQL text', () => {
    expect(decodeQuery(cstr('SELECT 1; SELECT 2'))).toBe('SELECT 1; SELECT 2');
  });

  it('decodes UTF-8 and the empty query', () => {
    expect(decodeQuery(cstr("SELECT 'żółw'"))).toBe("SELECT 'żółw'");
    expect(decodeQuery(Buffer.from([0]))).toBe('');
  });

  it('rejects an unterminated string even when a NUL follows the body in memory', () => {
    expectMalformed(() => decodeQuery(embedded(Buffer.from('SELECT 1', 'utf8'))), 'Query');
    expectMalformed(() => decodeQuery(Buffer.alloc(0)), 'Query');
  });

  it('rejects bytes after the terminating NUL', () => {
    expectMalformed(() => decodeQuery(bytes(cstr('SELECT 1'), 'x')), 'trailing');
  });
});

describe('decodeParse', () => {
  it('returns statement name, SQL and parameter type OIDs', () => {
    expect(decodeParse(parseBody('s1', 'SELECT $1::int + $2', [23, 0]))).toEqual({
      statementName: 's1',
      sql: 'SELECT $1::int + $2',
      parameterTypeOids: [23, 0],
    });
  });

  it('decodes the unnamed statement with no parameter types', () => {
    expect(decodeParse(parseBody('', 'SELECT 1'))).toEqual({
      statementName: '',
      sql: 'SELECT 1',
      parameterTypeOids: [],
    });
  });

  it('rejects every truncation of a valid body', () => {
    for (const prefix of strictPrefixes(parseBody('s1', 'SELECT $1', [25]))) {
      expect(() => decodeParse(prefix), `prefix of ${prefix.length} bytes`).toThrow(MalformedMessageError);
    }
  });

  it('rejects a negative parameter count', () => {
    expectMalformed(() => decodeParse(bytes(cstr(''), cstr('SELECT 1'), int16(-1))), 'negative');
  });

  it('rejects a count larger than the OIDs present', () => {
    expectMalformed(() => decodeParse(embedded(bytes(cstr(''), cstr('x'), int16(2), int32(23)))), 'Parse');
  });

  it('rejects bytes after the last OID', () => {
    expectMalformed(() => decodeParse(bytes(parseBody('', 'x', [23]), Buffer.from([0]))), 'trailing');
  });
});

describe('decodeBindNames', () => {
  it('returns the portal and statement names and ignores the parameters', () => {
    expect(decodeBindNames(bindBody('p1', 's1'))).toEqual({ portalName: 'p1', statementName: 's1' });
    expect(decodeBindNames(bindBody('', ''))).toEqual({ portalName: '', statementName: '' });
  });

  it('accepts the shortest Bind: names and zero counts', () => {
    const body = bytes(cstr(''), cstr('s'), int16(0), int16(0), int16(0));
    expect(decodeBindNames(body)).toEqual({ portalName: '', statementName: 's' });
  });

  it('rejects a body that ends after the names', () => {
    expectMalformed(() => decodeBindNames(embedded(bytes(cstr('p'), cstr('s')))), 'Bind');
    expectMalformed(() => decodeBindNames(embedded(bytes(cstr('p'), cstr('s'), Buffer.from([0])))), 'Bind');
  });

  it('rejects unterminated names', () => {
    expectMalformed(() => decodeBindNames(embedded(Buffer.from('p', 'utf8'))), 'Bind');
    expectMalformed(() => decodeBindNames(embedded(bytes(cstr('p'), 's'))), 'Bind');
    expectMalformed(() => decodeBindNames(Buffer.alloc(0)), 'Bind');
  });
});

describe('decodeBind', () => {
  it('returns names and values with their formats, and checks the result formats', () => {
    expect(decodeBind(bindBody('p1', 's1'))).toEqual({
      portalName: 'p1',
      statementName: 's1',
      values: [{ format: 0, value: Buffer.from('42') }],
      resultFormats: [0],
    });
    const binaryResults = bytes(
      cstr(''),
      cstr(''),
      int16(0),
      int16(1),
      int32(-1),
      int16(2),
      int16(1),
      int16(0),
    );
    expect(decodeBind(binaryResults).values).toEqual([{ format: 0, value: null }]);
    expect(decodeBind(binaryResults).resultFormats).toEqual([1, 0]);
  });

  it('rejects bytes after the result formats (a message hidden inside the Bind)', () => {
    const hidden = bytes('E', int32(9), cstr(''), int32(0));
    expectMalformed(() => decodeBind(bytes(bindBody('', ''), hidden)), 'Bind: trailing bytes');
    expectMalformed(
      () => decodeBind(bytes(cstr(''), cstr(''), int16(0), int16(0), int16(0), 'x')),
      'trailing',
    );
  });

  it('rejects a missing, negative or short result format list and unknown result formats', () => {
    expectMalformed(() => decodeBind(embedded(bytes(cstr(''), cstr(''), int16(0), int16(0)))), 'Bind');
    expectMalformed(() => decodeBind(bytes(cstr(''), cstr(''), int16(0), int16(0), int16(-1))), 'negative');
    expectMalformed(
      () => decodeBind(embedded(bytes(cstr(''), cstr(''), int16(0), int16(0), int16(2), int16(0)))),
      'Bind',
    );
    expectMalformed(
      () => decodeBind(bytes(cstr(''), cstr(''), int16(0), int16(0), int16(1), int16(7))),
      'format code 7',
    );
  });
});

describe('decodeEmptyBody', () => {
  it('accepts an empty body and rejects any byte', () => {
    expect(() => decodeEmptyBody(Buffer.alloc(0), 'Sync')).not.toThrow();
    expectMalformed(() => decodeEmptyBody(Buffer.from([0]), 'Sync'), 'Sync: trailing bytes');
    expectMalformed(() => decodeEmptyBody(bytes('Q', int32(5), cstr('')), 'Flush'), 'Flush: trailing bytes');
  });
});

describe('decodeTargetName', () => {
  it.each([
    ['Describe', 'S', 'stmt'],
    ['Describe', 'P', ''],
    ['Close', 'S', ''],
    ['Close', 'P', 'portal'],
  ] as const)('%s %s %j', (what, target, name) => {
    expect(decodeTargetName(bytes(target, cstr(name)), what)).toEqual({ target, name });
  });

  it.each(['s', 'p', 'X', '\0'])('rejects target byte %j', (target) => {
    expectMalformed(() => decodeTargetName(bytes(target, cstr('n')), 'Describe'), 'target must be S or P');
  });

  it('names the message kind in the error', () => {
    expectMalformed(() => decodeTargetName(Buffer.from('Q\0', 'ascii'), 'Close'), 'Close');
  });

  it('rejects an empty body, a missing name terminator and trailing bytes', () => {
    expectMalformed(() => decodeTargetName(embedded(Buffer.alloc(0)), 'Describe'), 'Describe');
    expectMalformed(() => decodeTargetName(embedded(Buffer.from('Sname', 'ascii')), 'Describe'), 'Describe');
    expectMalformed(() => decodeTargetName(bytes('S', cstr('n'), 'x'), 'Close'), 'trailing');
  });
});

describe('decodeExecute', () => {
  it('returns the portal name and row limit', () => {
    expect(decodeExecute(executeBody('p1', 100))).toEqual({ portalName: 'p1', maxRows: 100 });
    expect(decodeExecute(executeBody('', 0))).toEqual({ portalName: '', maxRows: 0 });
  });

  it('rejects every truncation and trailing bytes', () => {
    for (const prefix of strictPrefixes(executeBody('p', 5))) {
      expect(() => decodeExecute(prefix), `prefix of ${prefix.length} bytes`).toThrow(MalformedMessageError);
    }
    expectMalformed(() => decodeExecute(bytes(executeBody('', 0), Buffer.from([0]))), 'trailing');
  });
});

describe('decodeFunctionCallOid', () => {
  it('returns the function OID and ignores the arguments', () => {
    // FunctionCall: OID, 1 format code (text), 1 argument '7', result format text.
    const body = bytes(int32(1598), int16(1), int16(0), int16(1), int32(1), '7', int16(0));
    expect(decodeFunctionCallOid(body)).toBe(1598);
  });

  it('rejects a body shorter than the OID', () => {
    for (const prefix of strictPrefixes(int32(1598))) {
      expect(() => decodeFunctionCallOid(prefix)).toThrow(MalformedMessageError);
    }
  });
});

describe('decodePasswordMessage', () => {
  it('returns the password', () => {
    expect(decodePasswordMessage(cstr('s3cret ✓'))).toBe('s3cret ✓');
    expect(decodePasswordMessage(cstr(''))).toBe('');
  });

  it('rejects an unterminated password and trailing bytes', () => {
    expectMalformed(() => decodePasswordMessage(embedded(Buffer.from('s3cret', 'utf8'))), 'PasswordMessage');
    expectMalformed(() => decodePasswordMessage(bytes(cstr('a'), 'b')), 'trailing');
  });
});

describe('decodeSaslInitialResponse', () => {
  const clientFirst = Buffer.from('n,,n=,r=abc', 'utf8');

  it('returns the mechanism and the initial response', () => {
    const result = decodeSaslInitialResponse(
      bytes(cstr('SCRAM-SHA-256'), int32(clientFirst.length), clientFirst),
    );
    expect(result.mechanism).toBe('SCRAM-SHA-256');
    expect(result.data.equals(clientFirst)).toBe(true);
  });

  it('treats length -1 as no initial response', () => {
    const result = decodeSaslInitialResponse(bytes(cstr('SCRAM-SHA-256'), int32(-1)));
    expect(result).toEqual({ mechanism: 'SCRAM-SHA-256', data: Buffer.alloc(0) });
  });

  it('accepts an empty initial response', () => {
    expect(decodeSaslInitialResponse(bytes(cstr('M'), int32(0))).data.length).toBe(0);
  });

  it('rejects a length beyond the body, even when bytes follow it in memory', () => {
    const body = embedded(bytes(cstr('SCRAM-SHA-256'), int32(clientFirst.length + 1), clientFirst));
    expectMalformed(() => decodeSaslInitialResponse(body), 'truncated');
  });

  it('rejects a negative length other than -1', () => {
    expectMalformed(() => decodeSaslInitialResponse(bytes(cstr('M'), int32(-2))), 'negative');
  });

  it('rejects a missing length, trailing bytes and an unterminated mechanism', () => {
    expectMalformed(() => decodeSaslInitialResponse(embedded(cstr('M'))), 'SASLInitialResponse');
    expectMalformed(() => decodeSaslInitialResponse(bytes(cstr('M'), int32(1), 'ab')), 'trailing');
    expectMalformed(() => decodeSaslInitialResponse(bytes(cstr('M'), int32(-1), 'a')), 'trailing');
    expectMalformed(() => decodeSaslInitialResponse(embedded(Buffer.from('SCRAM', 'ascii'))), 'SASL');
  });
});

describe('every frontend decoder on arbitrary bytes', () => {
  const decoders: [string, (body: Buffer) => unknown][] = [
    ['decodeQuery', decodeQuery],
    ['decodeParse', decodeParse],
    ['decodeBindNames', decodeBindNames],
    ['decodeBind', decodeBind],
    ['decodeTargetName Describe', (b) => decodeTargetName(b, 'Describe')],
    ['decodeTargetName Close', (b) => decodeTargetName(b, 'Close')],
    ['decodeExecute', decodeExecute],
    ['decodeFunctionCallOid', decodeFunctionCallOid],
    ['decodePasswordMessage', decodePasswordMessage],
    ['decodeSaslInitialResponse', decodeSaslInitialResponse],
  ];

  /** The outcome of decoding: the value, or the error's class and message. */
  function outcome(decode: (body: Buffer) => unknown, body: Buffer): unknown {
    try {
      return { value: decode(body) };
    } catch (error) {
      return { error: (error as Error).name, message: (error as Error).message };
    }
  }

  // Bodies biased towards the shapes the decoders look for: NULs, S/P targets, small lengths.
  const bodyArb = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc
      .array(fc.constantFrom(0, 0xff, 0x53, 0x50, 0x41, 1, 2), { maxLength: 24 })
      .map((a) => Uint8Array.from(a)),
  );

  it.each(decoders)('%s returns or throws MalformedMessageError, never anything else', (_, decode) => {
    fc.assert(
      fc.property(bodyArb, (raw) => {
        try {
          decode(Buffer.from(raw));
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedMessageError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it.each(decoders)('%s decodes a view exactly as it decodes a copy (never reads around it)', (_, decode) => {
    fc.assert(
      fc.property(
        bodyArb,
        fc.uint8Array({ maxLength: 16 }),
        fc.uint8Array({ maxLength: 16 }),
        (raw, before, after) => {
          const parent = Buffer.concat([before, raw, after]);
          const view = parent.subarray(before.length, before.length + raw.length);
          expect(outcome(decode, view)).toEqual(outcome(decode, Buffer.from(raw)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
