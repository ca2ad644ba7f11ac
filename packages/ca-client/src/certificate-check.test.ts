import { describe, expect, it } from 'vitest';
import { encodeName } from '@etoken-ca/x509/name';
import { certificateCheck } from './certificate-check.js';
import { CA_FILE, CERT_OTHER_CA_PEM, CERT_OTHER_KEY_PEM, CERT_OTHER_SUBJECT_PEM, CERT_PEM, CSR_SPKI } from './testing/fixtures.js';

const request = {
  csrSpki: CSR_SPKI,
  subject: encodeName([
    { type: 'O', value: 'Grid' },
    { type: 'DC', value: 'org' },
    { type: 'O', value: 'Example' },
    { type: 'CN', value: 'John Doe' },
  ]),
};
const check = certificateCheck(CA_FILE, request);

describe('certificateCheck', () => {
  it("accepts the CA's certificate for the CSR's key and the username's subject, and gives it back as PEM", () => {
    expect(check(CERT_PEM)).toBe(CERT_PEM);
  });

  it.each([
    ['for another key', CERT_OTHER_KEY_PEM],
    ['for another subject', CERT_OTHER_SUBJECT_PEM],
    ['from another CA of the same name', CERT_OTHER_CA_PEM],
    ['that is no certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
    ['that is empty', ''],
  ])('refuses a certificate %s', (_, pem) => {
    expect(check(pem)).toBeNull();
  });

  it('refuses a certificate with bytes after it', () => {
    const der = Buffer.from(CERT_PEM.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(check(Buffer.concat([der, Buffer.of(0)]).toString('latin1'))).toBeNull();
  });

  it('refuses a CA_CERT whose key is no CA key with exit 78', () => {
    const broken = { ...CA_FILE, fields: { ...CA_FILE.fields, spki: Buffer.from('30053000020105', 'hex') } };
    expect(() => certificateCheck(broken, request)).toThrow(expect.objectContaining({ exitCode: 78, message: expect.stringMatching(/^CA_CERT \/etc\/etoken-ca\/ca.pem: not a CA key/) }));
  });
});
