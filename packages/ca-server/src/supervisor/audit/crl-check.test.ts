import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derToPem } from '../store/ca-store.js';
import type { CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { sequence } from '@etoken-ca/x509/der';
import { crlDer, crlProblem } from './crl-check.js';

const NAME = Buffer.from('300f310d300b06035504030c0454657374', 'hex'); // CN=Test
const INTEGER_V2 = Buffer.from('020101', 'hex');
const ALGORITHM = Buffer.from('300d06092a864886f70d01010b0500', 'hex'); // sha256WithRSAEncryption

function signedCrl(issuer: Buffer, key: ReturnType<typeof generateKeyPairSync>['privateKey']): Buffer {
  const tbs = sequence(INTEGER_V2, ALGORITHM, issuer, Buffer.from('170d3236303130313030303030305a', 'hex'));
  const signature = sign('sha256', tbs, key);
  const bitString = Buffer.concat([Buffer.from([0x03, 0x82, (signature.length + 1) >> 8, (signature.length + 1) & 0xff, 0]), signature]);
  return sequence(tbs, ALGORITHM, bitString);
}

describe('crlProblem', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ca = { subjectDer: NAME, publicKey, keyType: 'rsa' } as unknown as CaCertificate;

  it("accepts a CRL with the CA's name and signature, in PEM or DER", () => {
    const der = signedCrl(NAME, privateKey);
    expect(crlProblem(der, ca)).toBeNull();
    expect(crlProblem(crlDer(Buffer.from(derToPem(der, 'X509 CRL'))), ca)).toBeNull();
  });

  it('names what is wrong', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(crlProblem(signedCrl(NAME, other), ca)).toMatch(/signature does not verify/);
    const otherName = Buffer.from(NAME);
    otherName[otherName.length - 1] = 0x75;
    expect(crlProblem(signedCrl(otherName, privateKey), ca)).toMatch(/issuer is not/);
    expect(crlProblem(Buffer.from('not a crl'), ca)).toMatch(/unreadable/);
  });
});
