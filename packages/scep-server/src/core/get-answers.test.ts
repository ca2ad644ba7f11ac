import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTestPki, pem, type TestPki } from '../testing/openssl-pki.js';
import { LEGACY_ALGORITHMS, STRONG_ALGORITHMS } from './algorithm-policy.js';
import { caCapabilitiesAnswer } from './ca-capabilities.js';
import { caCertificatesAnswer, noNextCaCertificateAnswer } from './ca-certificates.js';
import { raCredentials } from './ra-credentials.js';

// openssl makes keys here: seconds on a busy machine.
vi.setConfig({ testTimeout: 30_000, hookTimeout: 60_000 });

let pki: TestPki;
beforeAll(() => void (pki = makeTestPki()));
afterAll(() => pki.remove());

describe('GetCACaps', () => {
  it('advertises what the default policy accepts, and never GetNextCACert', () => {
    const answer = caCapabilitiesAnswer(STRONG_ALGORITHMS);
    expect(answer.contentType).toBe('text/plain');
    expect(answer.body.toString()).toBe('POSTPKIOperation\nRenewal\nSCEPStandard\nAES\nSHA-256\nSHA-512\n');
  });

  it('adds DES3 and SHA-1 when the legacy algorithms are admitted', () => {
    expect(caCapabilitiesAnswer(LEGACY_ALGORITHMS).body.toString().split('\n')).toEqual(expect.arrayContaining(['DES3', 'SHA-1', 'AES', 'SHA-256']));
  });
});

describe('GetCACert', () => {
  it('sends the RA certificate and the CA chain as a certs-only SignedData', () => {
    const answer = caCertificatesAnswer([pki.raCertificate, pki.caCertificate]);
    expect(answer.contentType).toBe('application/x-x509-ca-ra-cert');
    const printed = execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-print_certs'], { input: answer.body, encoding: 'latin1' });
    expect(printed.replace(/^(subject|issuer)=.*\n|^\n/gm, '')).toBe(pem('CERTIFICATE', pki.raCertificate) + pem('CERTIFICATE', pki.caCertificate));
  });

  it('sends a single certificate bare', () => {
    expect(caCertificatesAnswer([pki.caCertificate])).toEqual({ status: 200, contentType: 'application/x-x509-ca-cert', body: pki.caCertificate });
  });

  it('answers GetNextCACert with 404: there is no rollover certificate', () => {
    expect(noNextCaCertificateAnswer().status).toBe(404);
  });
});

describe('the RA credentials', () => {
  it('refuse a key that is not the RA certificate\'s, or not RSA', () => {
    expect(() => raCredentials(pki.raCertificate, createPrivateKey(pki.otherRa().keyPem))).toThrow('does not match');
    expect(() => raCredentials(pki.raCertificate, createPrivateKey(execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])))).toThrow('RSA');
  });
});
