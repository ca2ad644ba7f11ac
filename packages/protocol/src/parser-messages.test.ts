import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, type Frame } from './frames.js';
import { encodeParseAnswer, encodeParseRequest, readParseAnswer, readParseRequest, type ParseAnswer } from './parser-messages.js';

const decode = (chunks: Buffer[]): Frame => new FrameDecoder({ maxLine: 1 << 16, maxPayload: 1 << 16 }).push(Buffer.concat(chunks))[0]!;
const spki = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex');
const parsed: ParseAnswer = {
  type: 'parsed',
  id: 'r1',
  fields: { subject: [{ type: 'O', value: 'Example' }, { type: 'CN', value: 'Jane Doe' }], emails: ['jane@example.org'], proxyLifetime: 3600, maxCertLifetime: 0, spki },
};
const answerWith = (change: Record<string, unknown>): Frame => decode(encodeFrame({ type: 'parsed', id: 'r1', subject: [{ type: 'CN', value: 'J' }], emails: [], proxyLifetime: 1, maxCertLifetime: 0, spki: 'AAAA', ...change }));

describe('parse requests', () => {
  it('carry the request bytes as they are', () => {
    const request = Buffer.from('username=/CN=x\n\n');
    expect(readParseRequest(decode(encodeParseRequest({ type: 'parse', id: 'r1', request })))).toEqual({ type: 'parse', id: 'r1', request });
  });

  it.each([
    ['no payload', encodeFrame({ type: 'parse', id: 'r1' }), /no payload/],
    ['no id', encodeFrame({ type: 'parse' }, Buffer.alloc(1)), /no valid id/],
    ['an id with a space', encodeFrame({ type: 'parse', id: 'a b' }, Buffer.alloc(1)), /no valid id/],
    ['an extra field', encodeFrame({ type: 'parse', id: 'r1', data: 'x' }, Buffer.alloc(1)), /unexpected field "data"/],
    ['another type', encodeFrame({ type: 'sign', id: 'r1' }, Buffer.alloc(1)), /not a parse request/],
  ])('refuse %s', (_, chunks, why) => {
    expect(() => readParseRequest(decode(chunks))).toThrow(why);
  });
});

describe('parse answers', () => {
  it('come back as they were sent', () => {
    expect(readParseAnswer(decode(encodeParseAnswer(parsed)))).toEqual(parsed);
    const refused: ParseAnswer = { type: 'refused', id: 'r2', reason: 'CSR signature does not verify' };
    expect(readParseAnswer(decode(encodeParseAnswer(refused)))).toEqual(refused);
  });

  it.each([
    ['an unknown attribute type', { subject: [{ type: 'title', value: 'x' }] }, /malformed item in subject/],
    ['an attribute type in another case', { subject: [{ type: 'cn', value: 'x' }] }, /malformed item in subject/],
    ['an RDN with a third field', { subject: [{ type: 'CN', value: 'x', extra: 1 }] }, /malformed item in subject/],
    ['an empty value', { subject: [{ type: 'CN', value: '' }] }, /malformed item in subject/],
    ['seventeen RDNs', { subject: Array(17).fill({ type: 'CN', value: 'x' }) }, /at most 16 items/],
    ['nine emails', { emails: Array(9).fill('a@b.c') }, /at most 8 items/],
    ['a lifetime of zero', { proxyLifetime: 0 }, /proxyLifetime/],
    ['a fractional lifetime', { maxCertLifetime: 1.5 }, /maxCertLifetime/],
    ['a key that is not base64', { spki: 'A*AA' }, /not base64/],
    ['a field it was not asked for', { keyType: 'rsa' }, /unexpected field "keyType"/],
  ])('refuse %s', (_, change, why) => {
    expect(() => readParseAnswer(answerWith(change))).toThrow(why);
  });

  it('name the request in a violation when they can', () => {
    expect(() => readParseAnswer(answerWith({ spki: 5 }))).toThrow(expect.objectContaining({ id: 'r1' }));
    expect(() => readParseAnswer(decode(encodeFrame({ type: 'hello', id: 'r9' })))).toThrow(expect.objectContaining({ id: 'r9', message: 'parser sent an unknown message' }));
  });
});
