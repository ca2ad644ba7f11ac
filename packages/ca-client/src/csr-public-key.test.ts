import { createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { csrSubjectPublicKeyInfo } from './csr-public-key.js';
import { CERT_PEM, CSR_PEM } from './testing/fixtures.js';

const csrDer = Buffer.from(CSR_PEM.replace(/-----[^-]+-----|\s/g, ''), 'base64');

describe('csrSubjectPublicKeyInfo', () => {
  it('finds the public key openssl put in the request', () => {
    const spki = csrSubjectPublicKeyInfo(csrDer);
    const expected = new X509Certificate(CERT_PEM).publicKey.export({ type: 'spki', format: 'der' });
    expect(createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' })).toEqual(expected);
  });

  it.each([
    ['empty input', Buffer.alloc(0)],
    ['a truncated request', csrDer.subarray(0, csrDer.length - 1)],
    ['trailing bytes', Buffer.concat([csrDer, Buffer.from([0])])],
    ['a wrong outer tag', Buffer.concat([Buffer.from([0x31]), csrDer.subarray(1)])],
    ['an indefinite length', Buffer.from([0x30, 0x80, 0x00, 0x00])],
    ['a length longer than the input', Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])],
    ['a header cut short', Buffer.from([0x30, 0x82, 0x01])],
    ['no subject', Buffer.from([0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00])],
  ])('refuses %s with a one-line exit-65 error', (_, der) => {
    expect(() => csrSubjectPublicKeyInfo(der)).toThrow(expect.objectContaining({ exitCode: 65, message: 'CSR is not a DER CertificationRequest' }));
  });
});
