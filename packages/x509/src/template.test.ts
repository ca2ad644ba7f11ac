import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { randomSerial } from '@etoken-ca/contract/core/serial';
import { parseCaCertificate, type CaCertificate } from './ca-certificate.js';
import { assembleSigned } from './signed.js';
import { childrenOf, readElement } from './der-reader.js';
import { basicConstraints, keyIdentifier, keyUsage } from './extensions.js';
import { checkInvariants } from './invariants.js';
import { buildTbs, createCertTemplate, type CertificateContent, type CertTemplate } from './template.js';

const HOUR = 3600_000;
const config = parseConfig('DN_FORMAT=/C=DE/DC=org/O=Example%s\nCA_OIDS=1.2.3.4,1.3.6.1.4.1.99999.7\nCRL_URLS=URI:http://ca.example.org/a.crl,URI:http://b.example.org/b.crl\nMAX_LIFETIME=86400\n', 'test.conf');
const userKey = (type: 'rsa' | 'ec', option?: string | number): Buffer => {
  const pair = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: Number(option ?? 2048) }) : generateKeyPairSync('ec', { namedCurve: String(option ?? 'P-256') });
  return pair.publicKey.export({ type: 'spki', format: 'der' });
};

let dir: string;
let ca: CaCertificate;
let caKey: KeyObject;
let template: CertTemplate;
const rsaSpki = userKey('rsa');

function request(overrides: Partial<CertificateContent> = {}): CertificateContent {
  const now = Math.floor(Date.now() / 1000) * 1000;
  return {
    serial: randomSerial(),
    subject: [
      { type: 'C', value: 'DE' },
      { type: 'DC', value: 'org' },
      { type: 'O', value: 'Example' },
      { type: 'CN', value: 'Jörg Müller' },
    ],
    emails: ['jm@example.org'],
    spki: rsaSpki,
    notBefore: now - 300_000,
    notAfter: now + 12 * HOUR,
    ...overrides,
  };
}

/** A CA made by openssl, key in a file: what the template copies must come from any conforming CA certificate. */
function opensslCa(name: string, extra: readonly string[]): { ca: CaCertificate; key: KeyObject } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/O=Test/CN=${name}`, ...extra], { stdio: 'pipe' });
  return { ca: parseCaCertificate(readFileSync(cert)), key: createPrivateKey(readFileSync(key)) };
}

const issue = (tbs: Buffer): Buffer => assembleSigned(tbs, template.algorithm, sign('sha256', tbs, caKey));

/** OpenSSL, an encoder-independent reader, must parse what the template builds and see the CA's signature and serial. */
function readBack(der: Buffer, serial: string): X509Certificate {
  const cert = new X509Certificate(der);
  expect(cert.verify(ca.publicKey)).toBe(true);
  expect(cert.checkIssued(ca.x509)).toBe(true);
  expect(cert.serialNumber.toUpperCase().replace(/^(00)+(?=.)/, '')).toBe(serial);
  return cert;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'etoken-x509-'));
  ({ ca, key: caKey } = opensslCa('Unit CA', ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']));
  template = createCertTemplate(config, ca);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('certificate template', () => {
  it('builds a certificate that passes the invariants and verifies', () => {
    const r = request();
    const tbs = buildTbs(template, r);
    checkInvariants(tbs, template.limits);
    const cert = readBack(issue(tbs), r.serial);
    expect(cert.ca).toBe(false);
    expect(cert.subject).toBe('C=DE\nDC=org\nO=Example\nCN=Jörg Müller');
    expect(cert.subjectAltName).toBe('email:jm@example.org');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.issuer).toBe(ca.x509.subject);
  });

  it('encodes C and DC with their fixed string types, other values as PrintableString when they fit', () => {
    const tbs = buildTbs(template, request());
    const der = tbs.toString('latin1');
    expect(der).toContain('\x13\x02DE'); // C PrintableString
    expect(der).toContain('\x16\x03org'); // DC IA5String
    expect(der).toContain('\x13\x07Example'); // O PrintableString
    expect(tbs.includes(Buffer.from('0c0d4ac3b67267204dc3bc6c6c6572', 'hex'))).toBe(true); // CN UTF8String
  });

  it('re-exports the subject key canonically and takes the key usage from its type', () => {
    const ecCert = new X509Certificate(issue(buildTbs(template, request({ spki: userKey('ec') }))));
    expect(ecCert.publicKey.asymmetricKeyType).toBe('ec');
    expect(() => buildTbs(template, request({ spki: Buffer.from('not a key') }))).toThrow(/does not parse/);
  });

  it('leaves out the SAN when there is no email, and uses SHA-1 of the key as AKI when the CA has no SKI', () => {
    const noSki = opensslCa('No SKI CA', ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'subjectKeyIdentifier=none']);
    const spki = noSki.ca.publicKey.export({ type: 'spki', format: 'der' });
    const spkiBits = childrenOf(spki, readElement(spki))[1]!;
    expect(noSki.ca.keyId).toEqual(keyIdentifier(spki.subarray(spkiBits.contentStart + 1, spkiBits.end)));
    const other = createCertTemplate(config, noSki.ca);
    const r = request({ emails: [] });
    const tbs = buildTbs(other, r);
    checkInvariants(tbs, other.limits);
    expect(new X509Certificate(assembleSigned(tbs, other.algorithm, sign('sha256', tbs, noSki.key))).subjectAltName).toBeUndefined();
  });
});

describe('invariants refuse', () => {
  const refused = (tbs: Buffer, reason: RegExp, limits = template.limits): void => {
    expect(() => checkInvariants(tbs, limits)).toThrow(reason);
  };

  it('a CA certificate or one that may sign certificates or CRLs', () => {
    refused(buildTbs({ ...template, basicConstraints: basicConstraints(true) }, request()), /CA:FALSE/);
    refused(buildTbs({ ...template, rsaKeyUsage: keyUsage(['digitalSignature', 'keyCertSign']) }, request()), /certificate or CRL signing/);
    refused(buildTbs({ ...template, rsaKeyUsage: keyUsage(['cRLSign']) }, request()), /certificate or CRL signing/);
  });

  it('another issuer, AKI or signature algorithm', () => {
    const tbs = buildTbs(template, request());
    refused(tbs, /issuer differs/, { ...template.limits, caSubject: Buffer.from('3000', 'hex') });
    refused(tbs, /authorityKeyIdentifier differs/, { ...template.limits, caKeyId: Buffer.alloc(20) });
    refused(tbs, /signature algorithm differs/, { ...template.limits, algorithm: Buffer.from('3000', 'hex') });
  });

  it('validity out of bounds', () => {
    const now = Math.floor(Date.now() / 1000) * 1000;
    refused(buildTbs(template, request({ notBefore: now, notAfter: now })), /notBefore is not before notAfter/);
    refused(buildTbs(template, request({ notBefore: now, notAfter: now + 25 * HOUR })), /longer than MAX_LIFETIME/);
    refused(buildTbs(template, request({ notBefore: now, notAfter: now + 12 * HOUR })), /past the CA certificate/, { ...template.limits, caNotAfter: now + HOUR });
  });

  it('a zero, negative or non-canonical serial', () => {
    expect(() => buildTbs(template, request({ serial: '00' }))).toThrow(/canonical/);
    expect(() => buildTbs(template, request({ serial: '0A' }))).not.toThrow();
    expect(() => buildTbs(template, request({ serial: '0a' }))).toThrow(/canonical/);
    const tbs = buildTbs(template, request({ serial: '01' }));
    const serial = childrenOf(tbs, readElement(tbs))[1]!;
    tbs[serial.contentStart] = 0;
    refused(tbs, /serial is zero/);
    tbs[serial.contentStart] = 0x80;
    refused(tbs, /negative/);
  });

  it('hostile subjects and emails', () => {
    expect(() => buildTbs(template, request({ subject: [] }))).not.toThrow();
    refused(buildTbs(template, request({ subject: [] })), /empty subject/);
    refused(buildTbs(template, request({ subject: [{ type: 'CN', value: 'a\u0007b' }] })), /control character/);
    refused(buildTbs(template, request({ subject: [{ type: 'CN', value: 'x'.repeat(65) }] })), /longer than 64/);
    refused(buildTbs(template, request({ subject: [{ type: 'C', value: 'Germany' }] })), /longer than 2|two-letter/);
    expect(() => buildTbs(template, request({ subject: [{ type: 'street', value: 'x' }] }))).toThrow(/not allowed/);
    refused(buildTbs(template, request({ emails: ['not-an-email'] })), /has no @/);
    refused(buildTbs(template, request({ emails: ['a@b..org'] })), /invalid domain/);
    expect(() => buildTbs(template, request({ emails: ['a\u0140b.org'] }))).toThrow(/ASCII/);
  });

  it('keys outside the policy', () => {
    refused(buildTbs(template, request({ spki: userKey('rsa', 1024) })), /1024 bits/);
    const e3 = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey.export({ type: 'spki', format: 'der' });
    refused(buildTbs(template, request({ spki: e3 })), /exponent 3/);
    refused(buildTbs(template, request({ spki: userKey('ec', 'P-521') })), /curve P-521/);
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
    expect(() => buildTbs(template, request({ spki: ed }))).toThrow('key type ed25519 not allowed');
  });

  it('garbage', () => {
    refused(Buffer.from('3003020101', 'hex'), /not where it belongs|malformed/);
    refused(Buffer.from('30', 'hex'), /malformed/);
    refused(Buffer.concat([buildTbs(template, request()), Buffer.of(0)]), /bytes after/);
  });
});
