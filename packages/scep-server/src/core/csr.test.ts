import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LEGACY_ALGORITHMS, STRONG_ALGORITHMS } from './algorithm-policy.js';
import { inspectCsr } from './csr.js';
import { ScepError, type FailInfo } from './fail-info.js';

// openssl makes keys and CSRs here: seconds on a busy machine.
vi.setConfig({ testTimeout: 30_000 });

const dir = mkdtempSync(join(tmpdir(), 'scep-csr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A CSR made by openssl req, DER, and the key it holds. The subject is in
 * the config file: openssl leaves the attributes section out under -subj.
 */
function opensslCsr(options: { key?: string[]; digest?: string; sections?: string } = {}): { der: Buffer; keyPath: string } {
  const keyPath = join(dir, 'key.pem');
  const config = join(dir, 'req.cnf');
  writeFileSync(config, `[req]\ndistinguished_name=dn\nprompt=no\n${options.sections ?? ''}\n[dn]\nO=Example\nCN=host1.example.org\n`);
  const der = execFileSync(
    'openssl',
    ['req', '-new', ...(options.key ?? ['-newkey', 'rsa:2048']), '-nodes', '-keyout', keyPath, `-${options.digest ?? 'sha256'}`, '-config', config, '-outform', 'DER'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return { der, keyPath };
}

function refusal(run: () => unknown): FailInfo {
  try {
    run();
  } catch (error) {
    if (error instanceof ScepError) return error.failInfo;
    throw error;
  }
  throw new Error('accepted');
}

describe('inspectCsr', () => {
  it('gives subject, key, challenge password and the requested names', () => {
    const { der, keyPath } = opensslCsr({
      sections: [
        'attributes=attrs',
        'req_extensions=ext',
        '[attrs]',
        'challengePassword=one-time 42',
        '[ext]',
        'subjectAltName=DNS:host1.example.org,DNS:h1.example.org,IP:192.0.2.7,IP:2001:db8::7,email:ops@example.org',
      ].join('\n'),
    });
    const facts = inspectCsr(der, STRONG_ALGORITHMS);
    expect(facts.challengePassword).toBe('one-time 42');
    expect(facts.subjectRdns).toEqual([[{ type: '2.5.4.10', value: 'Example' }], [{ type: '2.5.4.3', value: 'host1.example.org' }]]);
    expect(facts.subjectAltNames).toEqual({ dnsNames: ['host1.example.org', 'h1.example.org'], ipAddresses: ['192.0.2.7', '2001:db8::7'], otherNameTypes: ['rfc822Name'] });
    expect(facts.requestedExtensions).toEqual(['2.5.29.17']);
    expect(createPublicKey({ key: facts.spki, format: 'der', type: 'spki' }).equals(createPublicKey(execFileSync('openssl', ['pkey', '-in', keyPath, '-pubout'])))).toBe(true);
    expect(der.includes(facts.subject)).toBe(true);
  });

  it('reads a CSR without challenge and extensions, and an EC key', () => {
    const facts = inspectCsr(opensslCsr({ key: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] }).der, STRONG_ALGORITHMS);
    expect(facts.challengePassword).toBeUndefined();
    expect(facts.subjectAltNames).toEqual({ dnsNames: [], ipAddresses: [], otherNameTypes: [] });
  });

  it('takes a SHA-1 signature only under the legacy policy', () => {
    const { der } = opensslCsr({ digest: 'sha1' });
    expect(refusal(() => inspectCsr(der, STRONG_ALGORITHMS))).toBe('badAlg');
    expect(inspectCsr(der, LEGACY_ALGORITHMS).subjectRdns).toHaveLength(2);
  });

  it('refuses a CSR whose signature does not verify with badMessageCheck', () => {
    const { der } = opensslCsr();
    const tampered = Buffer.from(der);
    tampered[tampered.length - 1]! ^= 0x01;
    expect(refusal(() => inspectCsr(tampered, STRONG_ALGORITHMS))).toBe('badMessageCheck');
  });

  it('refuses what is not a CSR, or too large, with badRequest', () => {
    expect(refusal(() => inspectCsr(Buffer.from('not a CSR'), STRONG_ALGORITHMS))).toBe('badRequest');
    expect(refusal(() => inspectCsr(Buffer.concat([opensslCsr().der, Buffer.of(0)]), STRONG_ALGORITHMS))).toBe('badRequest');
    expect(refusal(() => inspectCsr(Buffer.alloc(40_000, 0x30), STRONG_ALGORITHMS))).toBe('badRequest');
  });
});
