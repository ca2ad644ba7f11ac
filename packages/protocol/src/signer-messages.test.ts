import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, type Frame } from './frames.js';
import { encodeSignerEvent, encodeSignerRequest, readSignerEvent, readSignerRequest, type SignerEvent, type SignerRequest } from './signer-messages.js';

const decode = (chunks: Buffer[]): Frame => new FrameDecoder({ maxLine: 1 << 16, maxPayload: 1 << 20 }).push(Buffer.concat(chunks))[0]!;
const now = 1_800_000_000_000;
const content = { serial: '7F01', subject: [{ type: 'CN', value: 'Jane' }], emails: [], spki: Buffer.from('3000', 'hex'), notBefore: now, notAfter: now + 3600_000 };

describe('signer requests', () => {
  it.each<[string, SignerRequest]>([
    ['a certificate', { type: 'sign-cert', id: 'a', content }],
    ['a CRL, its TBS after the line', { type: 'sign-crl', id: 'c1', tbs: Buffer.from('30030201ff', 'hex') }],
    ['a presence check', { type: 'check', id: 'check-1' }],
    ['a login for one token, its final try confirmed', { type: 'login', serial: '0123', finalTryConfirmed: true }],
  ])('carry %s as it was sent', (_, request) => {
    expect(readSignerRequest(decode(encodeSignerRequest(request)))).toEqual(request);
  });

  it.each([
    ['no id', { type: 'check' }, /no valid id/],
    ['an unknown type', { type: 'sign', id: 'x' }, /unknown request type/],
    ['an RDN without a value', { type: 'sign-cert', id: 'x', ...content, spki: 'AA==', subject: [{ type: 'CN' }] }, /malformed item in subject/],
    ['a validity in fractions of a millisecond', { type: 'sign-cert', id: 'x', ...content, spki: 'AA==', notBefore: 1.5 }, /notBefore/],
    ['a key that is not base64', { type: 'sign-cert', id: 'x', ...content, spki: 'a b' }, /not base64/],
    ['a login without its token serial', { type: 'login', finalTryConfirmed: false }, /serial/],
    ['a login whose confirmation is not a boolean', { type: 'login', serial: '1', finalTryConfirmed: 'y' }, /boolean finalTryConfirmed/],
    ['a login carrying the PIN', { type: 'login', serial: '1', finalTryConfirmed: false, pin: '1234' }, /unexpected field "pin"/],
    ['a field it does not know', { type: 'sign-cert', id: 'x', ...content, spki: 'AA==', extra: 1 }, /unexpected field "extra"/],
  ])('refuse %s, naming the request where they can', (_, message, why) => {
    expect(() => readSignerRequest(decode(encodeFrame(message)))).toThrow(why);
  });

  it('refuse a CRL request without its TBSCertList', () => {
    expect(() => readSignerRequest(decode(encodeFrame({ type: 'sign-crl', id: 'c2' })))).toThrow(expect.objectContaining({ id: 'c2', message: expect.stringMatching(/no payload/) }));
  });
});

describe('signer events', () => {
  it.each<[string, SignerEvent]>([
    ['the token', { type: 'token', token: { label: 'CA', serial: '0123', slot: 7, pinCountLow: true, pinFinalTry: false, pinLocked: false } }],
    ['ready', { type: 'ready' }],
    ['a refused login', { type: 'login-failed', reason: 'CKR_PIN_INCORRECT', pinIncorrect: true, pinLocked: false }],
    ['a certificate, its DER after the line', { type: 'cert', id: 'a', der: Buffer.from('3003020101', 'hex'), tokenOk: true }],
    ['a certificate with the token time', { type: 'cert', id: 'a', der: Buffer.from('3003020101', 'hex'), tokenOk: true, tokenUs: 251_342 }],
    ['a CRL signature with the token time', { type: 'crl', id: 'c1', signature: Buffer.from('abcd', 'hex'), tokenOk: true, tokenUs: 600 }],
    ['a CRL signature', { type: 'crl', id: 'c1', signature: Buffer.from('abcd', 'hex'), tokenOk: false }],
    ['a check without a reason', { type: 'check', id: 'check-1', ok: true }],
    ['a check with a reason', { type: 'check', id: 'check-2', ok: false, reason: 'token serial changed' }],
    ['an error', { type: 'error', id: 'a', reason: 'gone', tokenGone: true }],
    ['a device error', { type: 'error', id: 'a', reason: 'signing: CKR_DEVICE_ERROR', tokenGone: false, deviceError: true }],
    ['a login not tried', { type: 'login-failed', reason: 'final try', pinIncorrect: false, pinLocked: false, notTried: true }],
    ['a check before the login, with the PIN flags', { type: 'check', id: 'check-3', ok: true, token: { label: 'CA', serial: '0123', slot: 101, pinCountLow: true, pinFinalTry: true, pinLocked: false } }],
    ['a signing notice', { type: 'signing', ids: ['a', 'b'] }],
    ['a self-test timing', { type: 'timed', signatures: 5, totalUs: 1_250_000, slowestUs: 260_000 }],
  ])('carry %s as it was sent', (_, event) => {
    expect(readSignerEvent(decode(encodeSignerEvent(event)))).toEqual(event);
  });

  it.each([
    ['a certificate without its DER', encodeFrame({ type: 'cert', id: 'a', tokenOk: true }), /no payload/],
    ['a tokenOk that is not a boolean', encodeFrame({ type: 'cert', id: 'a', tokenOk: 'yes' }, Buffer.alloc(1)), /boolean tokenOk/],
    ['ready with a payload', encodeFrame({ type: 'ready' }, Buffer.alloc(1)), /payload it should not/],
    ['a token label of 65 characters', encodeFrame({ type: 'token', token: { label: 'x'.repeat(65), serial: '1', slot: 0, pinCountLow: false, pinFinalTry: false, pinLocked: false } }), /label/],
    ['an unknown event', encodeFrame({ type: 'shell', id: 'a' }), /unknown message/],
    ['a signing notice without ids', encodeFrame({ type: 'signing' }), /ids list/],
    ['a signing notice with a bad id', encodeFrame({ type: 'signing', ids: ['a b'] }), /malformed item in ids/],
    ['a signing notice of 17 requests', encodeFrame({ type: 'signing', ids: Array.from({ length: 17 }, (_, i) => `r${i}`) }), /ids list of at most 16/],
    ['a token time in fractions', encodeFrame({ type: 'cert', id: 'a', tokenOk: true, tokenUs: 1.5 }, Buffer.alloc(1)), /tokenUs/],
    ['a deviceError that is not a boolean', encodeFrame({ type: 'error', id: 'a', reason: 'x', tokenGone: false, deviceError: 1 }), /boolean deviceError/],
    ['a check with a malformed token', encodeFrame({ type: 'check', id: 'c', ok: true, token: { label: 'CA' } }), /token info/],
    ['a self-test of no signature', encodeFrame({ type: 'timed', signatures: 0, totalUs: 0, slowestUs: 0 }), /signatures/],
  ])('refuse %s', (_, chunks, why) => {
    expect(() => readSignerEvent(decode(chunks))).toThrow(why);
  });
});
