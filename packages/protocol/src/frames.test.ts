import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FramingError } from './frames.js';

const limits = { maxLine: 1000, maxPayload: 10_000 };

describe('FrameDecoder', () => {
  it('gives back frames fed a byte at a time, payloads included', () => {
    const bytes = Buffer.concat([...encodeFrame({ type: 'a', id: '1' }), ...encodeFrame({ type: 'b' }, Buffer.from('x\ny\n')), ...encodeFrame({ type: 'c' }, Buffer.alloc(0))]);
    const decoder = new FrameDecoder(limits);
    const frames = [...bytes].flatMap((byte) => decoder.push(Buffer.of(byte)));
    expect(frames).toEqual([{ message: { type: 'a', id: '1' } }, { message: { type: 'b' }, payload: Buffer.from('x\ny\n') }, { message: { type: 'c' }, payload: Buffer.alloc(0) }]);
    expect(decoder.idle).toBe(true);
  });

  it('is not idle halfway through a frame', () => {
    const decoder = new FrameDecoder(limits);
    decoder.push(Buffer.from('{"type":"b","bytes":3}\nab'));
    expect(decoder.idle).toBe(false);
    expect(decoder.push(Buffer.from('c'))).toHaveLength(1);
  });

  it.each([
    ['a line that is not JSON', 'not json\n', /not JSON/],
    ['a line that is not an object', '[1,2]\n', /not a JSON object/],
    ['null', 'null\n', /not a JSON object/],
    ['a negative payload', '{"bytes":-1}\n', /impossible payload/],
    ['a fractional payload', '{"bytes":1.5}\n', /impossible payload/],
    ['a payload over the limit', '{"bytes":10001}\n', /impossible payload/],
    ['a line over the limit', `{"type":"${'x'.repeat(1001)}"}\n`, /longer than 1000/],
  ])('refuses %s', (_, text, why) => {
    expect(() => new FrameDecoder(limits).push(Buffer.from(text))).toThrow(expect.objectContaining({ name: FramingError.name, message: expect.stringMatching(why) }));
  });

  it('refuses an over-long line before its newline arrives', () => {
    const decoder = new FrameDecoder(limits);
    expect(() => {
      for (let i = 0; i < 20; i++) decoder.push(Buffer.alloc(100, 0x20));
    }).toThrow(FramingError);
  });
});
