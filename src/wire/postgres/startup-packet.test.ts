/** readStartupPacket: the four untyped first packets, incomplete input and every way the packet can be malformed. */
import { describe, expect, it } from 'vitest';
import { cstr, int32, thrown } from '../../../test/helpers/wire-bytes.js';
import { MalformedMessageError } from './body-reader.js';
import { readStartupPacket } from './startup-packet.js';

/** An untyped packet: Int32 length counting itself, then the body. */
function untyped(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** Protocol version word: major in the high 16 bits, minor in the low 16. */
const version = (major: number, minor: number): Buffer => int32(major * 65536 + minor);

/** StartupMessage parameters: name/value C strings and the closing NUL. */
const parameters = (...pairs: [string, string][]): Buffer =>
  Buffer.concat([...pairs.flatMap(([name, value]) => [cstr(name), cstr(value)]), Buffer.from([0])]);

describe('readStartupPacket', () => {
  it('decodes SSLRequest (code 80877103)', () => {
    const packet = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    expect(readStartupPacket(packet)).toEqual({ value: { kind: 'ssl-request' }, used: 8 });
  });

  it('decodes GSSENCRequest (code 80877104)', () => {
    const packet = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]);
    expect(readStartupPacket(packet)).toEqual({ value: { kind: 'gssenc-request' }, used: 8 });
  });

  it('decodes CancelRequest with its process id and secret key', () => {
    const packet = Buffer.concat([int32(16), int32(80877102), int32(4242), int32(-123456789)]);
    expect(readStartupPacket(packet)).toEqual({
      value: { kind: 'cancel', processId: 4242, secretKey: -123456789 },
      used: 16,
    });
  });

  it('decodes a protocol 3.0 StartupMessage with its parameters, in order', () => {
    const packet = untyped(
      version(3, 0),
      parameters(['user', 'at_abc'], ['database', 'shop'], ['application_name', 'psql ✓'], ['options', '']),
    );
    const result = readStartupPacket(packet);
    expect(result?.used).toBe(packet.length);
    expect(result?.value).toEqual({
      kind: 'startup',
      majorVersion: 3,
      minorVersion: 0,
      parameters: new Map([
        ['user', 'at_abc'],
        ['database', 'shop'],
        ['application_name', 'psql ✓'],
        ['options', ''],
      ]),
    });
    if (result?.value.kind !== 'startup') throw new Error('expected a startup packet');
    expect([...result.value.parameters.keys()]).toEqual(['user', 'database', 'application_name', 'options']);
  });

  it('decodes a StartupMessage with no parameters at all', () => {
    const result = readStartupPacket(untyped(version(3, 0), Buffer.from([0])));
    expect(result?.value).toEqual({
      kind: 'startup',
      majorVersion: 3,
      minorVersion: 0,
      parameters: new Map(),
    });
  });

  it('decodes protocol 3.2 as major 3, minor 2, with its parameters', () => {
    const result = readStartupPacket(untyped(version(3, 2), parameters(['user', 'u'])));
    expect(result?.value).toEqual({
      kind: 'startup',
      majorVersion: 3,
      minorVersion: 2,
      parameters: new Map([['user', 'u']]),
    });
  });

  it('decodes a protocol 2.0 packet as major 2, minor 0 without reading its fixed fields', () => {
    // Protocol 2.0 StartupPacket: version, then database[64], user[32], options[64], unused[64], tty[64].
    const fixedFields = Buffer.alloc(64 + 32 + 64 + 64 + 64);
    fixedFields.write('shop', 0, 'ascii');
    fixedFields.write('alice', 64, 'ascii');
    const packet = untyped(version(2, 0), fixedFields);
    expect(packet.length).toBe(296);
    expect(readStartupPacket(packet)).toEqual({
      value: { kind: 'startup', majorVersion: 2, minorVersion: 0, parameters: new Map() },
      used: 296,
    });
  });

  it('uses only the first packet and leaves bytes that follow it to the caller', () => {
    const ssl = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    const following = untyped(version(3, 0), parameters(['user', 'u']));
    expect(readStartupPacket(Buffer.concat([ssl, following]))?.used).toBe(8);
  });

  describe('incomplete input', () => {
    const packet = untyped(version(3, 0), parameters(['user', 'at_abc'], ['database', 'shop']));

    it('returns null for every strict prefix of a valid packet', () => {
      for (let size = 0; size < packet.length; size++) {
        expect(readStartupPacket(packet.subarray(0, size)), `prefix of ${size} bytes`).toBeNull();
      }
      expect(readStartupPacket(packet)?.used).toBe(packet.length);
    });

    it('returns null for a CancelRequest missing its secret key', () => {
      const cancel = Buffer.concat([int32(16), int32(80877102), int32(1)]);
      expect(readStartupPacket(cancel)).toBeNull();
    });
  });

  describe('length bounds', () => {
    it.each([-1, 0, 4, 7, -2147483648])('rejects an announced length of %i (below 8)', (length) => {
      const error = thrown(() => readStartupPacket(Buffer.concat([int32(length), int32(80877103)])));
      expect(error).toBeInstanceOf(MalformedMessageError);
      expect((error as Error).message).toMatch(/length/);
    });

    it('rejects an announced length of 10001 before the rest arrives', () => {
      expect(() => readStartupPacket(int32(10_001))).toThrow(MalformedMessageError);
    });

    it('accepts a packet of exactly 10000 bytes', () => {
      const fixed = 4 + 4 + cstr('application_name').length + 1 + 1;
      const packet = untyped(version(3, 0), parameters(['application_name', 'x'.repeat(10_000 - fixed)]));
      expect(packet.length).toBe(10_000);
      const result = readStartupPacket(packet);
      expect(result?.used).toBe(10_000);
    });
  });

  describe('malformed packets', () => {
    it('rejects a repeated parameter name', () => {
      const packet = untyped(version(3, 0), parameters(['user', 'a'], ['database', 'd'], ['user', 'b']));
      const error = thrown(() => readStartupPacket(packet));
      expect(error).toBeInstanceOf(MalformedMessageError);
      expect((error as Error).message).toMatch(/duplicate.*user/);
    });

    it('rejects a parameter list without the closing NUL', () => {
      const packet = untyped(version(3, 0), cstr('user'), cstr('a'));
      expect(() => readStartupPacket(packet)).toThrow(MalformedMessageError);
    });

    it('rejects a name without a value', () => {
      const packet = untyped(version(3, 0), cstr('user'));
      expect(() => readStartupPacket(packet)).toThrow(MalformedMessageError);
    });

    it('rejects an unterminated value', () => {
      const packet = untyped(version(3, 0), cstr('user'), Buffer.from('abc', 'utf8'));
      expect(() => readStartupPacket(packet)).toThrow(MalformedMessageError);
    });

    it('rejects bytes after the closing NUL', () => {
      const packet = untyped(version(3, 0), parameters(['user', 'a']), Buffer.from([0x41]));
      expect(() => readStartupPacket(packet)).toThrow(MalformedMessageError);
    });

    it('rejects trailing bytes after the SSLRequest code', () => {
      const packet = untyped(int32(80877103), int32(0));
      expect(packet.length).toBe(12);
      expect(() => readStartupPacket(packet)).toThrow(MalformedMessageError);
    });

    it('rejects trailing bytes after the GSSENCRequest code', () => {
      expect(() => readStartupPacket(untyped(int32(80877104), Buffer.from([1])))).toThrow(
        MalformedMessageError,
      );
    });

    it('rejects a CancelRequest that is too short or too long', () => {
      expect(() => readStartupPacket(untyped(int32(80877102), int32(1)))).toThrow(MalformedMessageError);
      expect(() => readStartupPacket(untyped(int32(80877102), int32(1), int32(2), int32(3)))).toThrow(
        MalformedMessageError,
      );
    });
  });
});
