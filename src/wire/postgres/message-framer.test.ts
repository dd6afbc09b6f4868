/** MessageFramer: framing across chunk boundaries, the size bound, zero-copy views and a round-trip property. */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { cstr, thrown } from '../../../test/helpers/wire-bytes.js';
import { type Frame, FrameError, MessageFramer } from './message-framer.js';

/** A typed message: type byte, Int32 length counting itself, then the body. */
function typed(type: string, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const header = Buffer.alloc(5);
  header.write(type, 0, 'ascii');
  header.writeInt32BE(bytes.length + 4, 1);
  return Buffer.concat([header, bytes]);
}

/** A header announcing `length` with whatever body bytes follow. */
function header(type: string, length: number): Buffer {
  const out = Buffer.alloc(5);
  out.write(type, 0, 'ascii');
  out.writeInt32BE(length, 1);
  return out;
}

const summary = (frames: readonly Frame[]) =>
  frames.map((f) => ({ type: String.fromCharCode(f.type), body: f.body.toString('hex') }));

const QUERY = typed('Q', cstr('SELECT 1'));
const SYNC = typed('S');
const EXECUTE = typed('E', Buffer.concat([cstr(''), Buffer.from([0, 0, 0, 0])]));

describe('MessageFramer', () => {
  it('frames one complete message in one chunk', () => {
    const framer = new MessageFramer(1024);
    const frames = framer.push(QUERY);
    expect(summary(frames)).toEqual([{ type: 'Q', body: cstr('SELECT 1').toString('hex') }]);
    expect(frames[0]!.raw.equals(QUERY)).toBe(true);
    expect(framer.bufferedBytes).toBe(0);
  });

  it('frames several messages in one chunk, in order, including empty bodies', () => {
    const framer = new MessageFramer(1024);
    const frames = framer.push(Buffer.concat([QUERY, SYNC, EXECUTE, SYNC]));
    expect(frames.map((f) => String.fromCharCode(f.type))).toEqual(['Q', 'S', 'E', 'S']);
    expect(frames[1]!.body.length).toBe(0);
    expect(frames[1]!.raw.equals(SYNC)).toBe(true);
    expect(frames[2]!.raw.equals(EXECUTE)).toBe(true);
    expect(framer.bufferedBytes).toBe(0);
  });

  it('returns nothing for an empty chunk', () => {
    const framer = new MessageFramer(1024);
    expect(framer.push(Buffer.alloc(0))).toEqual([]);
    expect(framer.bufferedBytes).toBe(0);
  });

  it('reassembles a message split at every byte offset, including inside the 5-byte header', () => {
    const stream = Buffer.concat([QUERY, SYNC]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new MessageFramer(1024);
      const first = framer.push(stream.subarray(0, cut));
      const held = cut < QUERY.length ? cut : cut < stream.length ? cut - QUERY.length : 0;
      expect(framer.bufferedBytes).toBe(held);
      const second = framer.push(stream.subarray(cut));
      expect(summary([...first, ...second]), `cut at ${cut}`).toEqual([
        { type: 'Q', body: cstr('SELECT 1').toString('hex') },
        { type: 'S', body: '' },
      ]);
      expect(framer.bufferedBytes).toBe(0);
    }
  });

  it('reassembles a message fed one byte at a time', () => {
    const framer = new MessageFramer(1024);
    const frames: Frame[] = [];
    for (const byte of EXECUTE) frames.push(...framer.push(Buffer.from([byte])));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.raw.equals(EXECUTE)).toBe(true);
  });

  it('accepts a message exactly at the size limit (header included)', () => {
    const message = typed('d', Buffer.alloc(95, 7));
    expect(message.length).toBe(100);
    const frames = new MessageFramer(100).push(message);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.body.length).toBe(95);
  });

  it('rejects a message one byte over the limit with FrameError carrying the announced size', () => {
    const error = thrown(() => new MessageFramer(100).push(typed('d', Buffer.alloc(96))));
    expect(error).toBeInstanceOf(FrameError);
    expect((error as FrameError).announcedBytes).toBe(101);
    expect((error as FrameError).name).toBe('FrameError');
  });

  it('rejects an oversized message as soon as its header arrives, before the body', () => {
    const caught = thrown(() => new MessageFramer(1024).push(header('Q', 1_000_000)));
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as FrameError).announcedBytes).toBe(1_000_001);
  });

  it('rejects an oversized header that arrives split across chunks', () => {
    const framer = new MessageFramer(1024);
    const bad = header('Q', 5000);
    expect(framer.push(bad.subarray(0, 3))).toEqual([]);
    expect(() => framer.push(bad.subarray(3))).toThrow(FrameError);
  });

  it.each([0, 3, -1, -2147483648])('rejects an announced length of %i (below the minimum of 4)', (length) => {
    const caught = thrown(() => new MessageFramer(1024).push(header('Q', length)));
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as FrameError).announcedBytes).toBe(length);
    expect((caught as FrameError).message).toMatch(/minimum of 4/);
  });

  it('accepts the minimum length of 4 (an empty body)', () => {
    const frames = new MessageFramer(1024).push(header('H', 4));
    expect(summary(frames)).toEqual([{ type: 'H', body: '' }]);
  });

  it('gives views of the input chunk, not copies, for messages wholly inside one chunk', () => {
    const chunk = Buffer.concat([QUERY, SYNC]);
    const frames = new MessageFramer(1024).push(chunk);
    const [query, sync] = frames;
    expect(query!.raw.buffer).toBe(chunk.buffer);
    expect(query!.raw.byteOffset).toBe(chunk.byteOffset);
    expect(query!.body.buffer).toBe(chunk.buffer);
    expect(query!.body.byteOffset).toBe(chunk.byteOffset + 5);
    expect(sync!.raw.byteOffset).toBe(chunk.byteOffset + QUERY.length);
    // A write through the input shows up in the frame: the same memory.
    chunk[5] = 0x73; // 'S' -> 's'
    expect(query!.body.toString('utf8', 0, 1)).toBe('s');
    expect(query!.raw[5]).toBe(0x73);
  });

  it('body is raw without its 5-byte header', () => {
    const [frame] = new MessageFramer(1024).push(EXECUTE);
    expect(frame!.raw.subarray(5).equals(frame!.body)).toBe(true);
    expect(frame!.raw.readInt32BE(1)).toBe(frame!.body.length + 4);
  });

  it('holds a partial message until it completes and reports the held byte count', () => {
    const framer = new MessageFramer(1024);
    expect(framer.push(Buffer.concat([SYNC, QUERY.subarray(0, 7)])).map((f) => f.type)).toEqual([0x53]);
    expect(framer.bufferedBytes).toBe(7);
    const rest = framer.push(QUERY.subarray(7));
    expect(rest).toHaveLength(1);
    expect(rest[0]!.raw.equals(QUERY)).toBe(true);
    expect(framer.bufferedBytes).toBe(0);
  });

  it('copies a large message a bounded number of times however finely it arrives (linear, not quadratic)', () => {
    // A 64 MiB message (the default limit) arriving in 64 KiB socket reads must not stall the event
    // loop: re-concatenating everything held on every read copies ~n²/2 bytes (14 s for 64 MiB measured on a dev machine).
    const size = 4 * 1024 * 1024;
    const message = typed('d', Buffer.alloc(size - 5, 1));
    let copied = 0;
    const concat = Buffer.concat.bind(Buffer);
    const spy = vi.spyOn(Buffer, 'concat').mockImplementation((list, totalLength) => {
      const out = concat(list, totalLength);
      copied += out.length;
      return out;
    });
    try {
      const framer = new MessageFramer(size);
      const frames: Frame[] = [];
      for (let offset = 0; offset < size; offset += 65_536) {
        frames.push(...framer.push(message.subarray(offset, offset + 65_536)));
      }
      expect(frames).toHaveLength(1);
      expect(frames[0]!.raw.equals(message)).toBe(true);
    } finally {
      spy.mockRestore();
    }
    expect(copied).toBeLessThanOrEqual(3 * size);
  });

  describe('takeRemainder', () => {
    it('hands back the bytes of an incomplete message and forgets them', () => {
      const framer = new MessageFramer(1024);
      framer.push(Buffer.concat([SYNC, QUERY.subarray(0, 3)]));
      expect(framer.takeRemainder().equals(QUERY.subarray(0, 3))).toBe(true);
      expect(framer.bufferedBytes).toBe(0);
      expect(framer.takeRemainder().length).toBe(0);
      // The forgotten bytes do not prefix what comes next.
      expect(summary(framer.push(SYNC))).toEqual([{ type: 'S', body: '' }]);
    });

    it('is empty when everything pushed formed complete messages', () => {
      const framer = new MessageFramer(1024);
      framer.push(Buffer.concat([QUERY, SYNC]));
      expect(framer.takeRemainder().length).toBe(0);
    });

    it('is empty on a new framer', () => {
      expect(new MessageFramer(1024).takeRemainder().length).toBe(0);
    });
  });

  it('property: valid messages, concatenated and cut into random chunks, frame back to the same list', () => {
    const messageArb = fc.record({
      type: fc.integer({ min: 0, max: 255 }),
      body: fc.uint8Array({ maxLength: 300 }),
    });
    const scenarioArb = fc.array(messageArb, { maxLength: 20 }).chain((messages) => {
      const total = messages.reduce((sum, m) => sum + 5 + m.body.length, 0);
      return fc.tuple(
        fc.constant(messages),
        fc
          .uniqueArray(fc.integer({ min: 0, max: total }), { maxLength: 30 })
          .map((cuts) => [...cuts].sort((a, b) => a - b)),
      );
    });
    fc.assert(
      fc.property(scenarioArb, ([messages, cuts]) => {
        const stream = Buffer.concat(
          messages.map((m) => {
            const out = Buffer.alloc(5 + m.body.length);
            out[0] = m.type;
            out.writeInt32BE(m.body.length + 4, 1);
            out.set(m.body, 5);
            return out;
          }),
        );
        const framer = new MessageFramer(1024);
        const frames: Frame[] = [];
        let start = 0;
        for (const cut of [...cuts, stream.length]) {
          frames.push(...framer.push(stream.subarray(start, cut)));
          start = cut;
        }
        expect(framer.bufferedBytes).toBe(0);
        expect(frames.map((f) => ({ type: f.type, body: f.body.toString('hex') }))).toEqual(
          messages.map((m) => ({ type: m.type, body: Buffer.from(m.body).toString('hex') })),
        );
      }),
    );
  });
});
