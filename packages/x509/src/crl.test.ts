import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVOCATION_REASONS, reasonCode, type RevocationReason } from '@etoken-ca/contract/core/cadb/index-line';
import { serialIntegerContent } from '@etoken-ca/contract/core/serial';
import { parseCaCertificate } from './ca-certificate.js';
import { buildTbsCertList, createCrlTemplate, encodeRevokedEntry, type CrlTemplate } from './crl.js';
import { checkTbsCertList } from './crl-invariants.js';
import { enumerated, integerFromContent, sequence, time } from './der.js';
import { extension } from './extensions.js';
import { OID } from './oids.js';
import { assembleSigned } from './signed.js';

let dir: string;
let template: CrlTemplate;
let signTbs: (tbs: Buffer) => Buffer;
const T = Date.UTC(2026, 10, 24, 12, 0, 0);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'etoken-crl-unit-'));
  const [key, cert] = [join(dir, 'ca.key'), join(dir, 'ca.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/O=Unit/CN=CRL CA', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'pipe' });
  template = createCrlTemplate(parseCaCertificate(readFileSync(cert)));
  const caKey = createPrivateKey(readFileSync(key));
  signTbs = (tbs) => sign('sha256', tbs, caKey);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function opensslText(der: Buffer): string {
  const file = join(dir, 'crl.der');
  writeFileSync(file, der);
  return execFileSync('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-text', '-CAfile', join(dir, 'ca.pem')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });
}

describe('CRL builder', () => {
  it('builds a v2 CRL openssl reads and verifies, with reasons in its spelling and none for unspecified', () => {
    const entries = [
      encodeRevokedEntry({ serial: '0A1B', revokedAt: T - 3600_000, reason: 'keyCompromise' }),
      encodeRevokedEntry({ serial: 'FF01', revokedAt: T - 60_000, reason: 'unspecified' }),
      encodeRevokedEntry({ serial: '7C', revokedAt: T, reason: 'cessationOfOperation' }),
    ];
    const tbs = buildTbsCertList(template, { number: 42, thisUpdate: T, nextUpdate: T + 30 * 86400_000, entries });
    checkTbsCertList(tbs, template);
    const text = opensslText(assembleSigned(tbs, template.algorithm, signTbs(tbs)));
    expect(text).toMatch(/Version 2 \(0x1\)/);
    expect(text).toMatch(/Issuer: O = Unit, CN = CRL CA/);
    expect(text).toMatch(/Last Update: Nov 24 12:00:00 2026 GMT\s+Next Update: Dec 24 12:00:00 2026 GMT/);
    expect(text).toMatch(/X509v3 CRL Number:\s+42/);
    expect(text).toMatch(/X509v3 Authority Key Identifier:/);
    expect(text).toMatch(/Serial Number: 0A1B\s+Revocation Date: Nov 24 11:00:00 2026 GMT\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Key Compromise/);
    expect(text).toMatch(/Serial Number: FF01\s+Revocation Date: Nov 24 11:59:00 2026 GMT\s+Serial Number: 7C/);
    expect(text).toMatch(/Cessation Of Operation/);
  });

  it('writes a compromise time as an Invalidity Date beside the reason, as openssl ca -gencrl does', () => {
    const entries = [
      encodeRevokedEntry({ serial: '0B', revokedAt: T, reason: 'keyCompromise', compromisedAt: Date.UTC(2026, 10, 20, 8, 30, 15, 900) }),
      encodeRevokedEntry({ serial: '0C', revokedAt: T, reason: 'CACompromise', compromisedAt: Date.UTC(2051, 0, 2, 3, 4, 5) }),
    ];
    const tbs = buildTbsCertList(template, { number: 2, thisUpdate: T, nextUpdate: T + 86400_000, entries });
    checkTbsCertList(tbs, template);
    const text = opensslText(assembleSigned(tbs, template.algorithm, signTbs(tbs)));
    expect(text).toMatch(/Serial Number: 0B[\s\S]*?Key Compromise\s+Invalidity Date:\s+Nov 20 08:30:15 2026 GMT/);
    expect(text).toMatch(/Serial Number: 0C[\s\S]*?CA Compromise\s+Invalidity Date:\s+Jan  2 03:04:05 2051 GMT/);
    // GeneralizedTime whatever the year (RFC 5280 5.3.2), unlike the revocation date.
    expect(entries[0]!.includes(Buffer.from('20261120083015Z'))).toBe(true);
  });

  it('writes each entry without a compromise time as its parts put together would be', () => {
    const reference = (serial: string, revokedAt: number, reason: RevocationReason): Buffer => {
      const parts = [integerFromContent(serialIntegerContent(serial)), time(revokedAt)];
      if (reason !== 'unspecified') parts.push(sequence(extension(OID.cRLReason, false, enumerated(reasonCode(reason)))));
      return sequence(...parts);
    };
    const serials = ['01', '7F', '80', 'FF', '00AB', '1A2B3C', 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF', '80'.repeat(20), '7F'.repeat(40), 'ff'.repeat(40)];
    for (let i = 0; i < 200; i++) serials.push(randomBytes(1 + (i % 20)).toString('hex').toUpperCase());
    const times = [Date.UTC(1950, 0, 1), T, T + 999, Date.UTC(2049, 11, 31, 23, 59, 59, 999), Date.UTC(2050, 0, 1), Date.UTC(9999, 11, 31, 23, 59, 59)];
    serials.forEach((serial, i) => {
      for (const [j, at] of times.entries()) {
        const reason = REVOCATION_REASONS[(i + j) % REVOCATION_REASONS.length]!;
        expect(encodeRevokedEntry({ serial, revokedAt: at, reason }).toString('hex'), `${serial} ${at} ${reason}`).toBe(reference(serial, at, reason).toString('hex'));
      }
    });
    // Outside what serial.ts spells, the parts put together, as before.
    for (const serial of ['', 'ABC', 'XY', '0G', 'AB'.repeat(64)]) {
      expect(encodeRevokedEntry({ serial, revokedAt: T, reason: 'superseded' }).toString('hex'), serial).toBe(reference(serial, T, 'superseded').toString('hex'));
    }
    expect(() => encodeRevokedEntry({ serial: '01', revokedAt: Date.UTC(1949, 11, 31), reason: 'superseded' })).toThrow(/out of range/);
  });

  it('leaves out an empty revokedCertificates', () => {
    const tbs = buildTbsCertList(template, { number: 1, thisUpdate: T, nextUpdate: T + 86400_000, entries: [] });
    checkTbsCertList(tbs, template);
    expect(opensslText(assembleSigned(tbs, template.algorithm, signTbs(tbs)))).toMatch(/No Revoked Certificates/);
  });

  // How fast is the bench's to say (P4, against a baseline taken in the same run): a time limit here fails on a
  // loaded machine without telling anything about the code.
  it('builds 100,000 entries from kept DER', () => {
    const entries = Array.from({ length: 100_000 }, (_, i) => encodeRevokedEntry({ serial: (i + 1).toString(16).toUpperCase().padStart(32, '1'), revokedAt: T, reason: 'superseded' }));
    const tbs = buildTbsCertList(template, { number: 7, thisUpdate: T, nextUpdate: T + 86400_000, entries });
    checkTbsCertList(tbs, template);
    expect(opensslText(assembleSigned(tbs, template.algorithm, signTbs(tbs))).match(/Serial Number:/g)).toHaveLength(100_000);
  });
});

describe('what the signer refuses to sign as a CRL', () => {
  const valid = (): Buffer => buildTbsCertList(template, { number: 1, thisUpdate: T, nextUpdate: T + 86400_000, entries: [] });
  it('refuses another issuer, a nextUpdate not after thisUpdate, a certificate TBS and junk', () => {
    expect(() => checkTbsCertList(buildTbsCertList({ ...template, issuer: Buffer.from('3000', 'hex') }, { number: 1, thisUpdate: T, nextUpdate: T + 1000, entries: [] }), template)).toThrow(/issuer/);
    expect(() => checkTbsCertList(buildTbsCertList(template, { number: 1, thisUpdate: T, nextUpdate: T, entries: [] }), template)).toThrow(/nextUpdate/);
    const certTbsLike = Buffer.concat([Buffer.from('30', 'hex'), valid().subarray(1)]);
    certTbsLike[2] = 0xa0;
    expect(() => checkTbsCertList(certTbsLike, template)).toThrow();
    expect(() => checkTbsCertList(Buffer.from('not der'), template)).toThrow();
    expect(() => checkTbsCertList(Buffer.concat([valid(), Buffer.of(0)]), template)).toThrow(/one SEQUENCE/);
  });
});
