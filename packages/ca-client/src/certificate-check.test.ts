import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certificateCheck, matchingCertificate } from './certificate-check.js';
import { CA_PEM, CERT_OTHER_CA_PEM, CERT_OTHER_KEY_PEM, CERT_PEM } from './testing/fixtures.js';

const ca = new X509Certificate(CA_PEM);
// The CSR's key as the client has it: re-imported from SPKI DER, not the certificate's own object.
const csrKey = createPublicKey({ key: new X509Certificate(CERT_PEM).publicKey.export({ type: 'spki', format: 'der' }), format: 'der', type: 'spki' });

describe('matchingCertificate', () => {
  it("accepts the CA's certificate for the CSR's key", () => {
    expect(matchingCertificate(CERT_PEM, csrKey, ca)?.serialNumber).toBe('1234');
  });

  it('refuses a certificate for another key', () => {
    expect(matchingCertificate(CERT_OTHER_KEY_PEM, csrKey, ca)).toBeNull();
  });

  it('refuses a certificate from another CA of the same name', () => {
    expect(matchingCertificate(CERT_OTHER_CA_PEM, csrKey, ca)).toBeNull();
  });

  it('refuses a key of another type and text that is no certificate', () => {
    const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(matchingCertificate(CERT_PEM, ecKey, ca)).toBeNull();
    expect(matchingCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', csrKey, ca)).toBeNull();
    expect(matchingCertificate('', csrKey, ca)).toBeNull();
  });
});

describe('certificateCheck', () => {
  const caFile = (pem: string) => ({ file: '/etc/etoken-ca/ca.pem', pem: Buffer.from(pem) });
  const csrSpki = new X509Certificate(CERT_PEM).publicKey.export({ type: 'spki', format: 'der' });

  it("checks answers against the CA certificate's file and the CSR's key", () => {
    const check = certificateCheck(caFile(CA_PEM), csrSpki);
    expect(check(CERT_PEM)?.serialNumber).toBe('1234');
    expect(check(CERT_OTHER_KEY_PEM)).toBeNull();
  });

  it('refuses a CA_CERT that is no certificate with exit 78', () => {
    expect(() => certificateCheck(caFile('not a certificate\n'), csrSpki)).toThrow(
      expect.objectContaining({ exitCode: 78, message: 'CA_CERT /etc/etoken-ca/ca.pem: not a PEM certificate' }),
    );
  });

  it('refuses a CSR key node:crypto cannot read with exit 65', () => {
    // SEQUENCE { SEQUENCE {}, INTEGER 5 }: shaped like a SubjectPublicKeyInfo, no key.
    expect(() => certificateCheck(caFile(CA_PEM), Buffer.from('30053000020105', 'hex'))).toThrow(
      expect.objectContaining({ exitCode: 65, message: 'CSR public key is not readable' }),
    );
  });
});
