/** Backend message body decoders: valid bodies, truncated and malformed ones, and arbitrary bytes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cstr, int32, thrown } from '../../../test/helpers/wire-bytes.js';
import {
  decodeAuthentication,
  decodeBackendKeyData,
  decodeErrorFields,
  decodeParameterStatus,
  decodeReadyForQuery,
  decodeSaslMechanisms,
} from './backend-decoders.js';
import { MalformedMessageError } from './body-reader.js';

const bytes = (...parts: (Buffer | string)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));

/** ErrorResponse / NoticeResponse body: one-letter code + C string per field, then a NUL. */
const errorBody = (...fields: [string, string][]): Buffer =>
  bytes(...fields.flatMap(([code, value]) => [code, cstr(value)]), Buffer.from([0]));

/** `body` as a view inside a larger buffer of NULs, so reading past its end would look valid. */
function embedded(body: Buffer): Buffer {
  const padding = Buffer.alloc(64, 0);
  return Buffer.concat([padding, body, padding]).subarray(padding.length, padding.length + body.length);
}

/** Every strict prefix of `body`, each as a view with NULs after it. */
const strictPrefixes = (body: Buffer): Buffer[] =>
  Array.from({ length: body.length }, (_, size) => embedded(body.subarray(0, size)));

function expectMalformed(action: () => unknown, what: string): void {
  const error = thrown(action);
  expect(error).toBeInstanceOf(MalformedMessageError);
  expect((error as Error).message).toContain(what);
}

describe('decodeAuthentication', () => {
  it('returns AuthenticationOk with no data', () => {
    const result = decodeAuthentication(int32(0));
    expect(result.code).toBe(0);
    expect(result.data.length).toBe(0);
  });

  it('returns the MD5 salt as data', () => {
    const result = decodeAuthentication(bytes(int32(5), Buffer.from([1, 2, 3, 4])));
    expect(result.code).toBe(5);
    expect([...result.data]).toEqual([1, 2, 3, 4]);
  });

  it('returns SASLContinue data untouched', () => {
    const serverFirst = 'r=abcdef,s=QSXCR+Q6sek8bf92,i=4096';
    const result = decodeAuthentication(bytes(int32(11), serverFirst));
    expect(result).toEqual({ code: 11, data: Buffer.from(serverFirst, 'utf8') });
  });

  it('rejects a body shorter than the request code', () => {
    for (const prefix of strictPrefixes(int32(0))) {
      expectMalformed(() => decodeAuthentication(prefix), 'Authentication');
    }
  });
});

describe('decodeSaslMechanisms', () => {
  it('lists the mechanisms in order', () => {
    expect(
      decodeSaslMechanisms(bytes(cstr('SCRAM-SHA-256-PLUS'), cstr('SCRAM-SHA-256'), Buffer.from([0]))),
    ).toEqual(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
  });

  it('returns an empty list for a lone terminator', () => {
    expect(decodeSaslMechanisms(Buffer.from([0]))).toEqual([]);
  });

  it('decodes the data of a whole AuthenticationSASL body', () => {
    const auth = decodeAuthentication(bytes(int32(10), cstr('SCRAM-SHA-256'), Buffer.from([0])));
    expect(auth.code).toBe(10);
    expect(decodeSaslMechanisms(auth.data)).toEqual(['SCRAM-SHA-256']);
  });

  it('rejects a list without its closing NUL and an unterminated name', () => {
    expectMalformed(() => decodeSaslMechanisms(embedded(cstr('SCRAM-SHA-256'))), 'AuthenticationSASL');
    expectMalformed(() => decodeSaslMechanisms(embedded(Buffer.from('SCRAM', 'ascii'))), 'unterminated');
    expectMalformed(() => decodeSaslMechanisms(Buffer.alloc(0)), 'AuthenticationSASL');
  });
});

describe('decodeParameterStatus', () => {
  it('returns the name and value', () => {
    expect(decodeParameterStatus(bytes(cstr('server_version'), cstr('15.4')))).toEqual({
      name: 'server_version',
      value: '15.4',
    });
    expect(decodeParameterStatus(bytes(cstr('application_name'), cstr('')))).toEqual({
      name: 'application_name',
      value: '',
    });
  });

  it('rejects every truncation and trailing bytes', () => {
    for (const prefix of strictPrefixes(bytes(cstr('TimeZone'), cstr('UTC')))) {
      expectMalformed(() => decodeParameterStatus(prefix), 'ParameterStatus');
    }
    expectMalformed(() => decodeParameterStatus(bytes(cstr('a'), cstr('b'), 'c')), 'trailing');
  });
});

describe('decodeBackendKeyData', () => {
  it('returns the process id and secret key (signed Int32)', () => {
    expect(decodeBackendKeyData(bytes(int32(31337), int32(-559038737)))).toEqual({
      processId: 31337,
      secretKey: -559038737,
    });
  });

  it('rejects a short body and trailing bytes', () => {
    for (const prefix of strictPrefixes(bytes(int32(1), int32(2)))) {
      expectMalformed(() => decodeBackendKeyData(prefix), 'BackendKeyData');
    }
    expectMalformed(() => decodeBackendKeyData(bytes(int32(1), int32(2), Buffer.from([0]))), 'trailing');
  });
});

describe('decodeReadyForQuery', () => {
  it.each(['I', 'T', 'E'] as const)('returns status %s', (status) => {
    expect(decodeReadyForQuery(Buffer.from(status, 'ascii'))).toBe(status);
  });

  it.each(['i', 'X', '\0'])('rejects unknown status %j', (status) => {
    expectMalformed(() => decodeReadyForQuery(Buffer.from(status, 'ascii')), 'unknown status');
  });

  it('rejects a body that is not exactly one byte', () => {
    expectMalformed(() => decodeReadyForQuery(embedded(Buffer.alloc(0))), 'one byte');
    expectMalformed(() => decodeReadyForQuery(Buffer.from('II', 'ascii')), 'one byte');
  });
});

describe('decodeErrorFields', () => {
  it('keys every field by its one-letter code', () => {
    const body = errorBody(
      ['S', 'ERROR'],
      ['V', 'ERROR'],
      ['C', '42P01'],
      ['M', 'relation "nope" does not exist'],
      ['P', '15'],
      ['F', 'parse_relation.c'],
      ['L', '1392'],
      ['R', 'parserOpenTable'],
    );
    expect(decodeErrorFields(body)).toEqual(
      new Map([
        ['S', 'ERROR'],
        ['V', 'ERROR'],
        ['C', '42P01'],
        ['M', 'relation "nope" does not exist'],
        ['P', '15'],
        ['F', 'parse_relation.c'],
        ['L', '1392'],
        ['R', 'parserOpenTable'],
      ]),
    );
  });

  it('returns an empty map for a lone terminator', () => {
    expect(decodeErrorFields(Buffer.from([0]))).toEqual(new Map());
  });

  it('rejects every truncation, including a missing final terminator', () => {
    const body = errorBody(['S', 'FATAL'], ['C', '28P01'], ['M', 'password authentication failed']);
    for (const prefix of strictPrefixes(body)) {
      expect(() => decodeErrorFields(prefix), `prefix of ${prefix.length} bytes`).toThrow(
        MalformedMessageError,
      );
    }
  });
});

describe('every backend decoder on arbitrary bytes', () => {
  const decoders: [string, (body: Buffer) => unknown][] = [
    ['decodeAuthentication', decodeAuthentication],
    ['decodeSaslMechanisms', decodeSaslMechanisms],
    ['decodeParameterStatus', decodeParameterStatus],
    ['decodeBackendKeyData', decodeBackendKeyData],
    ['decodeReadyForQuery', decodeReadyForQuery],
    ['decodeErrorFields', decodeErrorFields],
  ];

  function outcome(decode: (body: Buffer) => unknown, body: Buffer): unknown {
    try {
      return { value: decode(body) };
    } catch (error) {
      return { error: (error as Error).name, message: (error as Error).message };
    }
  }

  const bodyArb = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc
      .array(fc.constantFrom(0, 0x49, 0x54, 0x45, 0x53, 0x4d, 0xff), { maxLength: 24 })
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
