import { describe, expect, it } from 'vitest';
import { decodeBind, decodeQuery } from './frontend-decoders.js';
import { encodeBind, encodeExecute, encodeParse, encodeQuery, encodeSync } from './frontend-encoders.js';
import { MessageFramer } from './message-framer.js';
import { Frontend } from './protocol-constants.js';

function frame(bytes: Buffer) {
  const frames = new MessageFramer(1 << 20).push(bytes);
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

describe('frontend encoders', () => {
  it('encodes a Query the decoder reads back', () => {
    const f = frame(encodeQuery('select 1'));
    expect(f.type).toBe(Frontend.Query);
    expect(decodeQuery(f.body)).toBe('select 1');
  });

  it('encodes a Bind of text values and NULL the decoder reads back', () => {
    const f = frame(encodeBind('p', 's', ['4', null, 'é']));
    expect(f.type).toBe(Frontend.Bind);
    const bind = decodeBind(f.body);
    expect(bind.portalName).toBe('p');
    expect(bind.statementName).toBe('s');
    expect(bind.values.map((v) => [v.format, v.value?.toString('utf8') ?? null])).toEqual([
      [0, '4'],
      [0, null],
      [0, 'é'],
    ]);
    expect(bind.resultFormats).toEqual([]);
  });

  it('frames Parse, Execute and Sync with their fixed layouts', () => {
    const parse = frame(encodeParse('', 'select $1'));
    expect(parse.type).toBe(Frontend.Parse);
    expect(parse.body).toEqual(Buffer.from('\0select $1\0\0\0', 'utf8'));
    const execute = frame(encodeExecute(''));
    expect(execute.body).toEqual(Buffer.from([0, 0, 0, 0, 0]));
    expect(frame(encodeSync()).body.length).toBe(0);
  });
});
