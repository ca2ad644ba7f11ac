import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { randomSerial } from '@etoken-ca/contract/core/serial';
import { readCertificateFields } from '@etoken-ca/x509/certificate-fields';
import { assembleSigned } from '@etoken-ca/x509/signed';
import { buildTbs, createCertTemplate, type CertificateContent } from '@etoken-ca/x509/template';
import { makeFileCa } from '../../../x509/src/testing/file-ca.js';
import { signedAnswerChecks } from './signed-answers.js';

const authority = makeFileCa({ config: 'DN_FORMAT=/O=Example%s\n' });
const template = createCertTemplate(authority.config, authority.ca);
const checks = signedAnswerChecks(template, authority.ca);
const now = Math.floor(Date.now() / 1000) * 1000;
const content: CertificateContent = {
  serial: randomSerial(),
  subject: [{ type: 'O', value: 'Example' }, { type: 'CN', value: 'Jane' }],
  emails: [],
  spki: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }),
  notBefore: now,
  notAfter: now + 3600_000,
};

describe("the supervisor's check of a signed certificate", () => {
  it('passes the certificate the template gives, signed by the CA', () => {
    expect(checks.certificate(content, authority.issue(content))).toBeNull();
  });

  it.each<[string, Partial<CertificateContent>]>([
    ['another subject', { subject: [{ type: 'O', value: 'Example' }, { type: 'CN', value: 'Mallory' }] }],
    ['another serial', { serial: randomSerial() }],
    ['another key', { spki: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }) }],
    ['another validity', { notAfter: now + 7200_000 }],
  ])('refuses one for %s, even signed by the CA', (_, change) => {
    expect(checks.certificate(content, authority.issue({ ...content, ...change }))).toMatch(/not the certificate the template gives/);
  });

  it('refuses the right certificate signed by another key, bytes after it, and what is no certificate', () => {
    const tbs = buildTbs(template, content);
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(checks.certificate(content, assembleSigned(tbs, template.algorithm, sign('sha256', tbs, stranger)))).toMatch(/does not verify/);
    expect(checks.certificate(content, Buffer.concat([authority.issue(content), Buffer.of(0)]))).toMatch(/not a certificate/);
    expect(checks.certificate(content, Buffer.from('garbage'))).toMatch(/not a certificate/);
  });

  it('checks a CRL signature over the TBSCertList it was given', () => {
    const der = authority.issue(content);
    const { tbs, signature } = readCertificateFields(der);
    expect(checks.crlSignature(tbs, signature)).toBe(true);
    expect(checks.crlSignature(Buffer.concat([tbs, Buffer.of(0)]), signature)).toBe(false);
  });
});
