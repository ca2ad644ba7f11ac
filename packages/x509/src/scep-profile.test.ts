/** The SCEP profile through the template and the invariants, read back by OpenSSL. */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { randomSerial } from '@etoken-ca/contract/core/serial';
import { parseCaCertificate, type CaCertificate } from './ca-certificate.js';
import { checkInvariants } from './invariants.js';
import { assembleSigned } from './signed.js';
import { buildTbs, createCertTemplate, type CertificateContent, type CertTemplate } from './template.js';

const DAY = 86_400_000;
const config = parseConfig(
  [
    'DN_FORMAT=/DC=org/DC=example%s',
    `SCEP_SUBJECTS='"/DC=org/DC=example/OU=hosts/CN=*"'`,
    'SCEP_SAN_DNS=*.grid.example.org',
    'SCEP_SAN_IP=192.0.2.0/24,2001:db8::/32',
    'SCEP_EKU=serverAuth,clientAuth',
    'SCEP_LIFETIME_DAYS=90',
    'MAX_LIFETIME=86400',
    '',
  ].join('\n'),
  'test.conf',
);

let dir: string;
let ca: CaCertificate;
let caKey: KeyObject;
let template: CertTemplate;
const spki = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' });

function hostRequest(overrides: Partial<CertificateContent> = {}): CertificateContent {
  const now = Math.floor(Date.now() / 1000) * 1000;
  return {
    serial: randomSerial(),
    subject: [
      { type: 'DC', value: 'org' },
      { type: 'DC', value: 'example' },
      { type: 'OU', value: 'hosts' },
      { type: 'CN', value: 'ce1.grid.example.org' },
    ],
    emails: [],
    spki,
    notBefore: now - 300_000,
    notAfter: now + 90 * DAY,
    scep: { dnsNames: ['ce1.grid.example.org'], ipAddresses: ['192.0.2.7', '2001:db8::7'] },
    ...overrides,
  };
}

const refusal = (content: CertificateContent): string => {
  try {
    checkInvariants(buildTbs(template, content), template.limits, 'scep');
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'etoken-scep-profile-'));
  const key = join(dir, 'ca.key');
  const cert = join(dir, 'ca.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '365', '-subj', '/DC=org/DC=example/CN=Unit CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'pipe' });
  ca = parseCaCertificate(readFileSync(cert));
  caKey = createPrivateKey(readFileSync(key));
  template = createCertTemplate(config, ca);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the SCEP certificate profile', () => {
  it('builds a host certificate with its DNS names, addresses and usages, which OpenSSL reads', () => {
    const tbs = buildTbs(template, hostRequest());
    checkInvariants(tbs, template.limits, 'scep');
    const cert = new X509Certificate(assembleSigned(tbs, template.algorithm, sign('sha256', tbs, caKey)));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:ce1.grid.example.org, IP Address:192.0.2.7, IP Address:2001:DB8:0:0:0:0:0:7');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(cert.ca).toBe(false);
  });

  it('refuses names, addresses and subjects outside the profile', () => {
    expect(refusal(hostRequest({ scep: { dnsNames: ['www.example.org'], ipAddresses: [] } }))).toMatch(/outside SCEP_SAN_DNS/);
    expect(refusal(hostRequest({ scep: { dnsNames: [], ipAddresses: ['198.51.100.1'] } }))).toMatch(/outside SCEP_SAN_IP/);
    expect(refusal(hostRequest({ subject: [{ type: 'DC', value: 'org' }, { type: 'DC', value: 'example' }, { type: 'CN', value: 'alice' }] }))).toMatch(/outside SCEP_SUBJECTS/);
    expect(refusal(hostRequest({ emails: ['a@example.org'] }))).toMatch(/no email names/);
  });

  it("refuses a lifetime past SCEP_LIFETIME_DAYS, and checks a MyProxy request against MyProxy's limits", () => {
    const now = Math.floor(Date.now() / 1000) * 1000;
    expect(refusal(hostRequest({ notAfter: now + 91 * DAY }))).toMatch(/SCEP_LIFETIME_DAYS/);
    const tbs = buildTbs(template, hostRequest());
    // The same certificate under the MyProxy profile: a lifetime far beyond MAX_LIFETIME, names it never allows.
    expect(() => checkInvariants(tbs, template.limits, 'myproxy')).toThrow();
  });

  it('refuses a certificate of the MyProxy template under the SCEP profile (its email names, its subject)', () => {
    const { scep: _, ...myproxy } = hostRequest({ emails: ['a@example.org'] });
    expect(() => checkInvariants(buildTbs(template, { ...myproxy, notAfter: myproxy.notBefore + DAY }), template.limits, 'scep')).toThrow(/something other than a DNS name/);
  });
});
