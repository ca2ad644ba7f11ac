import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, type Frame } from './frames.js';
import { encodeSignerRequest, readSignerRequest, type SignCertRequest } from './signer-messages.js';

const decode = (chunks: Buffer[]): Frame => new FrameDecoder({ maxLine: 1 << 16, maxPayload: 1 << 20 }).push(Buffer.concat(chunks))[0]!;

const request: SignCertRequest = {
  type: 'sign-cert',
  id: 'r1',
  content: {
    serial: '0A',
    subject: [{ type: 'CN', value: 'host1.example.org' }],
    emails: [],
    spki: Buffer.from('spki'),
    notBefore: 1000,
    notAfter: 2000,
    scep: { dnsNames: ['host1.example.org'], ipAddresses: ['192.0.2.7'] },
  },
};

describe('the scep field of a certificate request', () => {
  it('travels to the signer, and its absence means the MyProxy profile', () => {
    expect(readSignerRequest(decode(encodeSignerRequest(request)))).toEqual(request);
    const { scep: _, ...myproxy } = request.content;
    expect(readSignerRequest(decode(encodeSignerRequest({ ...request, content: myproxy })))).toEqual({ ...request, content: myproxy });
  });

  it('is refused with unexpected keys, wrong types or too many names', () => {
    const base = { type: 'sign-cert', id: 'r1', serial: '0A', subject: [{ type: 'CN', value: 'h' }], emails: [], spki: 'c3BraQ==', notBefore: 1000, notAfter: 2000 };
    for (const scep of [
      { dnsNames: [], ipAddresses: [], emails: [] },
      { dnsNames: 'host', ipAddresses: [] },
      { dnsNames: [7], ipAddresses: [] },
      { dnsNames: Array(101).fill('h.example.org'), ipAddresses: [] },
      null,
    ]) {
      expect(() => readSignerRequest(decode(encodeFrame({ ...base, scep })))).toThrow();
    }
  });
});
