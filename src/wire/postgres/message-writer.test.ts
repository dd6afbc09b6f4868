/** Encoders: exact bytes against hand-computed fixtures, and round trips through the framer and decoders. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeAuthentication,
  decodeBackendKeyData,
  decodeErrorFields,
  decodeParameterStatus,
  decodeReadyForQuery,
  decodeSaslMechanisms,
} from './backend-decoders.js';
import { decodePasswordMessage, decodeSaslInitialResponse } from './frontend-decoders.js';
import { type Frame, MessageFramer } from './message-framer.js';
import {
  encodeAuthenticationCleartext,
  encodeAuthenticationOk,
  encodeAuthenticationSasl,
  encodeAuthenticationSaslContinue,
  encodeAuthenticationSaslFinal,
  encodeBackendKeyData,
  encodeCancelRequest,
  encodeErrorResponse,
  encodeMessage,
  encodeNegotiateProtocolVersion,
  encodeParameterStatus,
  encodePasswordMessage,
  encodeReadyForQuery,
  encodeRequestCode,
  encodeSaslInitialResponse,
  encodeSaslResponse,
  encodeStartupMessage,
  encodeTerminate,
} from './message-writer.js';
import { PgError, type PgSeverity } from './pg-error.js';
import { readStartupPacket } from './startup-packet.js';

/** Hex with spaces and `|` ignored, so fixtures can be grouped by field. */
const hex = (text: string): Buffer => Buffer.from(text.replace(/[\s|]/g, ''), 'hex');

/** Hex of an ASCII/UTF-8 string followed by its NUL terminator. */
const cstrHex = (text: string): string => `${Buffer.from(text, 'utf8').toString('hex')}00`;

/** Frames `bytes` and expects exactly one complete message. */
function onlyFrame(bytes: Buffer): Frame {
  const framer = new MessageFramer(1 << 20);
  const frames = framer.push(bytes);
  expect(frames).toHaveLength(1);
  expect(framer.bufferedBytes).toBe(0);
  return frames[0]!;
}

const letter = (frame: Frame): string => String.fromCharCode(frame.type);

describe('encodeMessage', () => {
  it('writes type, Int32 length counting itself, and the body', () => {
    expect(encodeMessage(0x51, Buffer.from('ab\0', 'ascii'))).toEqual(hex('51 | 00000007 | 616200'));
    expect(encodeMessage(0x53, Buffer.alloc(0))).toEqual(hex('53 | 00000004'));
  });

  it('copies the body rather than referring to it', () => {
    const body = Buffer.from('x', 'ascii');
    const message = encodeMessage(0x51, body);
    body[0] = 0x79;
    expect(message[5]).toBe(0x78);
  });
});

describe('hand-computed fixtures', () => {
  it.each([
    ['AuthenticationOk', encodeAuthenticationOk(), '52 | 00000008 | 00000000'],
    ['AuthenticationCleartextPassword', encodeAuthenticationCleartext(), '52 | 00000008 | 00000003'],
    [
      'AuthenticationSASL',
      encodeAuthenticationSasl(['SCRAM-SHA-256']),
      `52 | 00000017 | 0000000a | ${cstrHex('SCRAM-SHA-256')} | 00`,
    ],
    [
      'AuthenticationSASLContinue',
      encodeAuthenticationSaslContinue(hex('aabb')),
      '52 | 0000000a | 0000000b | aabb',
    ],
    ['AuthenticationSASLFinal', encodeAuthenticationSaslFinal(hex('cc')), '52 | 00000009 | 0000000c | cc'],
    ['ParameterStatus', encodeParameterStatus('a', 'b'), '53 | 00000008 | 6100 | 6200'],
    ['BackendKeyData', encodeBackendKeyData(1, -2), '4b | 0000000c | 00000001 | fffffffe'],
    ['ReadyForQuery I', encodeReadyForQuery('I'), '5a | 00000005 | 49'],
    ['ReadyForQuery T', encodeReadyForQuery('T'), '5a | 00000005 | 54'],
    ['ReadyForQuery E', encodeReadyForQuery('E'), '5a | 00000005 | 45'],
    [
      'NegotiateProtocolVersion',
      encodeNegotiateProtocolVersion(0, ['_pq_.x']),
      `76 | 00000013 | 00000000 | 00000001 | ${cstrHex('_pq_.x')}`,
    ],
    [
      'NegotiateProtocolVersion (no options)',
      encodeNegotiateProtocolVersion(2, []),
      '76 | 0000000c | 00000002 | 00000000',
    ],
    [
      'StartupMessage',
      encodeStartupMessage({ user: 'u' }),
      `00000010 | 00030000 | ${cstrHex('user')} | 7500 | 00`,
    ],
    ['SSLRequest', encodeRequestCode(80877103), '00000008 | 04d2162f'],
    ['GSSENCRequest', encodeRequestCode(80877104), '00000008 | 04d21630'],
    ['CancelRequest', encodeCancelRequest(7, -9), '00000010 | 04d2162e | 00000007 | fffffff7'],
    ['PasswordMessage', encodePasswordMessage('pw'), '70 | 00000007 | 707700'],
    [
      'SASLInitialResponse',
      encodeSaslInitialResponse('M', hex('6162')),
      '70 | 0000000c | 4d00 | 00000002 | 6162',
    ],
    ['SASLResponse', encodeSaslResponse(hex('010203')), '70 | 00000007 | 010203'],
    ['Terminate', encodeTerminate(), '58 | 00000004'],
  ])('%s', (_, actual, expected) => {
    expect(actual.toString('hex')).toBe(hex(expected).toString('hex'));
  });

  it('ErrorResponse: S, V, C, M, H in that order and a closing NUL', () => {
    const error = new PgError({ severity: 'ERROR', code: '42501', message: 'm', hint: 'h' });
    const expected = [
      '45 | 00000020',
      `53 ${cstrHex('ERROR')}`,
      `56 ${cstrHex('ERROR')}`,
      `43 ${cstrHex('42501')}`,
      `4d ${cstrHex('m')}`,
      `48 ${cstrHex('h')}`,
      '00',
    ].join('|');
    expect(encodeErrorResponse(error).toString('hex')).toBe(hex(expected).toString('hex'));
  });

  it('ErrorResponse: D between M and H when there is a detail, omitted fields are absent', () => {
    const withDetail = new PgError({
      severity: 'FATAL',
      code: 'XX000',
      message: 'm',
      detail: 'd',
      hint: 'h',
    });
    const body = encodeErrorResponse(withDetail).subarray(5).toString('latin1');
    expect(body).toBe('SFATAL\0VFATAL\0CXX000\0Mm\0Dd\0Hh\0\0');
    const bare = new PgError({ severity: 'ERROR', code: '0A000', message: 'm' });
    expect(encodeErrorResponse(bare).subarray(5).toString('latin1')).toBe('SERROR\0VERROR\0C0A000\0Mm\0\0');
  });
});

describe('encodeErrorResponse round trip', () => {
  it('carries every PgError field through the framer and decodeErrorFields', () => {
    const error = new PgError({
      severity: 'FATAL',
      code: '28P01',
      message: 'token "at_x" has expired',
      detail: 'expired at 12:00 — ✓',
      hint: 'Issue a new token with `airlock token issue` and reconnect.',
    });
    const frame = onlyFrame(encodeErrorResponse(error));
    expect(letter(frame)).toBe('E');
    expect(decodeErrorFields(frame.body)).toEqual(
      new Map([
        ['S', 'FATAL'],
        ['V', 'FATAL'],
        ['C', '28P01'],
        ['M', 'token "at_x" has expired'],
        ['D', 'expired at 12:00 — ✓'],
        ['H', 'Issue a new token with `airlock token issue` and reconnect.'],
      ]),
    );
  });

  it('round-trips a named constructor', () => {
    const error = PgError.tooManyConnections(100);
    const fields = decodeErrorFields(onlyFrame(encodeErrorResponse(error)).body);
    expect(fields.get('C')).toBe('53300');
    expect(fields.get('M')).toBe(error.message);
    expect(fields.get('H')).toBe(error.hint);
    expect(fields.has('D')).toBe(false);
  });

  it.each([
    ['ERROR', 'E'],
    ['FATAL', 'E'],
    ['NOTICE', 'N'],
    ['WARNING', 'N'],
  ] as const)('severity %s is sent as message type %s', (severity, type) => {
    const frame = onlyFrame(encodeErrorResponse(new PgError({ severity, code: '01000', message: 'x' })));
    expect(letter(frame)).toBe(type);
    expect(decodeErrorFields(frame.body).get('S')).toBe(severity);
    expect(decodeErrorFields(frame.body).get('V')).toBe(severity);
  });

  it('property: any NUL-free fields survive the round trip', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'));
    const severity = fc.constantFrom<PgSeverity>('ERROR', 'FATAL', 'NOTICE', 'WARNING');
    fc.assert(
      fc.property(
        severity,
        fc.string({
          unit: fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
          minLength: 5,
          maxLength: 5,
        }),
        text,
        fc.option(text, { nil: undefined }),
        fc.option(text, { nil: undefined }),
        (sev, code, message, detail, hint) => {
          const error = new PgError({ severity: sev, code, message, detail, hint });
          const fields = decodeErrorFields(onlyFrame(encodeErrorResponse(error)).body);
          const expected = new Map([
            ['S', sev],
            ['V', sev],
            ['C', code],
            ['M', message],
          ]);
          if (detail !== undefined) expected.set('D', detail);
          if (hint !== undefined) expected.set('H', hint);
          expect(fields).toEqual(expected);
        },
      ),
    );
  });
});

describe('round trips through the framer and decoders', () => {
  it('authentication requests', () => {
    expect(decodeAuthentication(onlyFrame(encodeAuthenticationOk()).body)).toEqual({
      code: 0,
      data: Buffer.alloc(0),
    });
    expect(decodeAuthentication(onlyFrame(encodeAuthenticationCleartext()).body).code).toBe(3);
    const sasl = decodeAuthentication(onlyFrame(encodeAuthenticationSasl(['SCRAM-SHA-256', 'X'])).body);
    expect(sasl.code).toBe(10);
    expect(decodeSaslMechanisms(sasl.data)).toEqual(['SCRAM-SHA-256', 'X']);
    const serverFirst = Buffer.from('r=abc,s=c2FsdA==,i=4096', 'utf8');
    expect(decodeAuthentication(onlyFrame(encodeAuthenticationSaslContinue(serverFirst)).body)).toEqual({
      code: 11,
      data: serverFirst,
    });
    const serverFinal = Buffer.from('v=c2lnbmF0dXJl', 'utf8');
    expect(decodeAuthentication(onlyFrame(encodeAuthenticationSaslFinal(serverFinal)).body)).toEqual({
      code: 12,
      data: serverFinal,
    });
  });

  it('an empty mechanism list still decodes', () => {
    const sasl = decodeAuthentication(onlyFrame(encodeAuthenticationSasl([])).body);
    expect(decodeSaslMechanisms(sasl.data)).toEqual([]);
  });

  it('ParameterStatus, BackendKeyData and ReadyForQuery', () => {
    const status = onlyFrame(encodeParameterStatus('server_version', '15.4 (Airlock)'));
    expect(letter(status)).toBe('S');
    expect(decodeParameterStatus(status.body)).toEqual({ name: 'server_version', value: '15.4 (Airlock)' });
    const key = onlyFrame(encodeBackendKeyData(-1, 2147483647));
    expect(letter(key)).toBe('K');
    expect(decodeBackendKeyData(key.body)).toEqual({ processId: -1, secretKey: 2147483647 });
    for (const s of ['I', 'T', 'E'] as const) {
      const ready = onlyFrame(encodeReadyForQuery(s));
      expect(letter(ready)).toBe('Z');
      expect(decodeReadyForQuery(ready.body)).toBe(s);
    }
  });

  it('PasswordMessage, SASLInitialResponse and SASLResponse', () => {
    const password = onlyFrame(encodePasswordMessage('md5abc ✓'));
    expect(letter(password)).toBe('p');
    expect(decodePasswordMessage(password.body)).toBe('md5abc ✓');
    const clientFirst = Buffer.from('n,,n=,r=nonce', 'utf8');
    const initial = onlyFrame(encodeSaslInitialResponse('SCRAM-SHA-256', clientFirst));
    expect(decodeSaslInitialResponse(initial.body)).toEqual({
      mechanism: 'SCRAM-SHA-256',
      data: clientFirst,
    });
    const response = onlyFrame(encodeSaslResponse(Buffer.from('c=biws', 'utf8')));
    expect(letter(response)).toBe('p');
    expect(response.body.toString('utf8')).toBe('c=biws');
  });

  it('NegotiateProtocolVersion frames back to its minor version and option names', () => {
    const frame = onlyFrame(encodeNegotiateProtocolVersion(0, ['_pq_.a', '_pq_.b ✓']));
    expect(letter(frame)).toBe('v');
    expect(frame.body.readInt32BE(0)).toBe(0);
    expect(frame.body.readInt32BE(4)).toBe(2);
    expect(frame.body.subarray(8).toString('utf8')).toBe('_pq_.a\0_pq_.b ✓\0');
  });

  it('several encoded messages in one stream frame back in order', () => {
    const stream = Buffer.concat([
      encodeAuthenticationOk(),
      encodeParameterStatus('TimeZone', 'UTC'),
      encodeBackendKeyData(1, 2),
      encodeReadyForQuery('I'),
      encodeTerminate(),
    ]);
    const frames = new MessageFramer(1024).push(stream);
    expect(frames.map(letter)).toEqual(['R', 'S', 'K', 'Z', 'X']);
    expect(frames[4]!.body.length).toBe(0);
  });

  it('StartupMessage, SSLRequest, GSSENCRequest and CancelRequest through readStartupPacket', () => {
    const startup = encodeStartupMessage({ user: 'airlock', database: 'shop', application_name: 'gw ✓' });
    expect(readStartupPacket(startup)).toEqual({
      value: {
        kind: 'startup',
        majorVersion: 3,
        minorVersion: 0,
        parameters: new Map([
          ['user', 'airlock'],
          ['database', 'shop'],
          ['application_name', 'gw ✓'],
        ]),
      },
      used: startup.length,
    });
    expect(readStartupPacket(encodeRequestCode(80877103))?.value).toEqual({ kind: 'ssl-request' });
    expect(readStartupPacket(encodeRequestCode(80877104))?.value).toEqual({ kind: 'gssenc-request' });
    expect(readStartupPacket(encodeCancelRequest(123, -456))).toEqual({
      value: { kind: 'cancel', processId: 123, secretKey: -456 },
      used: 16,
    });
  });

  it('property: any NUL-free, non-empty-named startup parameters round-trip', () => {
    const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\0'));
    const value = fc.string({ unit: 'binary', maxLength: 24 }).filter((s) => !s.includes('\0'));
    fc.assert(
      fc.property(fc.dictionary(name, value, { maxKeys: 6 }), (parameters) => {
        const packet = encodeStartupMessage(parameters);
        const result = readStartupPacket(packet);
        expect(result?.used).toBe(packet.length);
        if (result?.value.kind !== 'startup') throw new Error('expected a startup packet');
        expect(Object.fromEntries(result.value.parameters)).toEqual({ ...parameters });
      }),
    );
  });

  it('property: ParameterStatus and PasswordMessage round-trip any NUL-free text', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'));
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(decodeParameterStatus(onlyFrame(encodeParameterStatus(a, b)).body)).toEqual({
          name: a,
          value: b,
        });
        expect(decodePasswordMessage(onlyFrame(encodePasswordMessage(a)).body)).toBe(a);
      }),
    );
  });
});
