import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeNoticeFields } from './backend-decoders.js';
import { MalformedMessageError } from './body-reader.js';
import { encodeMessage } from './message-writer.js';
import { Backend } from './protocol-constants.js';
import {
  decodeCopyOutResponse,
  decodeDataRow,
  decodeRowDescription,
  encodeDataRow,
  encodeNoticeFields,
  maskDataRow,
} from './result-messages.js';

const value = fc.option(
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
  { nil: null },
);

describe('DataRow rewriting', () => {
  it('keeps the very same message when every value is kept', () => {
    const raw = encodeDataRow([Buffer.from('a'), null, Buffer.from('bc')]);
    expect(maskDataRow(raw, [() => undefined, () => Buffer.from('x'), undefined])).toBe(raw);
  });

  it('encodes every length: any row decodes to exactly the values written', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 12 }), (values) => {
        const out = encodeDataRow(values);
        expect(out.readInt32BE(1)).toBe(out.length - 1);
        expect(decodeDataRow(out.subarray(5))).toEqual(values);
      }),
    );
  });

  it('maskDataRow rewrites exactly the masked non-NULL columns, lengths recomputed', () => {
    const mask = fc.option(
      value.filter((v) => v !== null),
      { nil: undefined },
    );
    fc.assert(
      fc.property(
        fc.array(value, { maxLength: 12 }),
        fc.array(mask, { maxLength: 12 }),
        (before, replacements) => {
          const raw = encodeDataRow(before);
          const masks = replacements.map((r) => (r === undefined ? undefined : () => r));
          const out = maskDataRow(raw, masks);
          const expected = before.map((v, i) =>
            v === null || replacements[i] === undefined ? v : replacements[i]!,
          );
          expect(out.readInt32BE(1)).toBe(out.length - 1);
          expect(decodeDataRow(out.subarray(5))).toEqual(expected);
          if (replacements.every((r) => r === undefined)) expect(out).toBe(raw);
        },
      ),
    );
    const nullMask = maskDataRow(encodeDataRow([Buffer.from('abc'), Buffer.from('d')]), [() => null]);
    expect(decodeDataRow(nullMask.subarray(5))).toEqual([null, Buffer.from('d')]);
  });

  it('refuses rows that do not match their own lengths', () => {
    const raw = encodeDataRow([Buffer.from('abc')]);
    const short = encodeMessage(Backend.DataRow, raw.subarray(5, raw.length - 1));
    expect(() => decodeDataRow(short.subarray(5))).toThrow(MalformedMessageError);
    const trailing = encodeMessage(Backend.DataRow, Buffer.concat([raw.subarray(5), Buffer.from([0])]));
    expect(() => decodeDataRow(trailing.subarray(5))).toThrow(MalformedMessageError);
    const negative = encodeMessage(Backend.DataRow, Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xfe]));
    expect(() => decodeDataRow(negative.subarray(5))).toThrow(MalformedMessageError);
    for (const bad of [short, trailing, negative]) {
      expect(() => maskDataRow(bad, [() => null])).toThrow(MalformedMessageError);
    }
  });
});

describe('RowDescription, CopyOutResponse and notice fields', () => {
  it('decodes a RowDescription with origins, types and formats', () => {
    const field = Buffer.alloc(18);
    field.writeUInt32BE(16_400, 0);
    field.writeInt16BE(3, 4);
    field.writeUInt32BE(25, 6);
    field.writeInt16BE(-1, 10);
    field.writeInt32BE(-1, 12);
    field.writeInt16BE(1, 16);
    const body = Buffer.concat([Buffer.from([0, 1]), Buffer.from('email\0'), field]);
    expect(decodeRowDescription(body)).toEqual([
      { name: 'email', tableOid: 16_400, attnum: 3, typeOid: 25, typeSize: -1, typeModifier: -1, format: 1 },
    ]);
    expect(() => decodeRowDescription(Buffer.concat([body, Buffer.from([1])]))).toThrow(
      MalformedMessageError,
    );
  });

  it('decodes CopyOutResponse', () => {
    expect(decodeCopyOutResponse(Buffer.from([0, 0, 2, 0, 0, 0, 0]))).toEqual({
      format: 0,
      columnFormats: [0, 0],
    });
    expect(() => decodeCopyOutResponse(Buffer.from([2, 0, 0]))).toThrow(MalformedMessageError);
  });

  it('round-trips notice fields in order', () => {
    const fields: [string, string][] = [
      ['S', 'ERROR'],
      ['C', '22P02'],
      ['M', 'invalid input syntax for type integer: "x"'],
    ];
    const message = encodeNoticeFields(Backend.ErrorResponse, fields);
    expect(message[0]).toBe(Backend.ErrorResponse);
    expect(decodeNoticeFields(message.subarray(5))).toEqual(fields);
  });
});
