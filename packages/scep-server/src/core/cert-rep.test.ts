/**
 * Replies checked by a third implementation, OpenSSL's cms and pkcs7
 * commands (scepclient and certmonger check them in real-clients.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTestPki, pem, type TestPki } from '../testing/openssl-pki.js';
import { failureReply, pendingReply, successReply } from './cert-rep.js';
import { raCredentials, type RaCredentials } from './ra-credentials.js';
import { ID_FAIL_INFO, ID_MESSAGE_TYPE, ID_PKI_STATUS, ID_RECIPIENT_NONCE, ID_SENDER_NONCE, ID_TRANSACTION_ID } from './scep-oids.js';
import { openSignedData } from './signed-data-opener.js';

// openssl makes keys and checks replies here: seconds on a busy machine.
vi.setConfig({ testTimeout: 30_000, hookTimeout: 60_000 });

let pki: TestPki;
let ra: RaCredentials;
let dir: string;
let requester: { certificate: Buffer; keyPem: string };
const to = { transactionId: 'tx-1/abc+=', senderNonce: Buffer.alloc(16, 7) };

const openssl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] });
const file = (name: string, bytes: Buffer | string): string => {
  writeFileSync(join(dir, name), bytes);
  return name;
};

/** Verifies the RA's signature against the CA and gives back the signed content. */
function verifiedContent(reply: Buffer): Buffer {
  openssl('cms', '-verify', '-inform', 'DER', '-in', file('reply.der', reply), '-CAfile', file('ca.pem', pem('CERTIFICATE', pki.caCertificate)), '-purpose', 'any', '-out', 'content.bin', '-binary');
  return readFileSync(join(dir, 'content.bin'));
}

beforeAll(() => {
  pki = makeTestPki();
  ra = raCredentials(pki.raCertificate, createPrivateKey(pki.raKeyPem));
  requester = pki.otherRa();
  dir = mkdtempSync(join(tmpdir(), 'cert-rep-'));
});

afterAll(() => {
  pki.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe('CertRep', () => {
  it('FAILURE: signed by the RA, the request echoed, a fresh nonce, the failInfo, no content', () => {
    const reply = failureReply(to, 'badMessageCheck', ra);
    expect(verifiedContent(reply).length).toBe(0);
    const { attributes } = openSignedData(reply);
    expect(attributes.printableString(ID_MESSAGE_TYPE, 'messageType', 2)).toBe('3');
    expect(attributes.printableString(ID_PKI_STATUS, 'pkiStatus', 2)).toBe('2');
    expect(attributes.printableString(ID_FAIL_INFO, 'failInfo', 2)).toBe('1');
    expect(attributes.printableString(ID_TRANSACTION_ID, 'transactionID', 100)).toBe(to.transactionId);
    expect(attributes.octetString(ID_RECIPIENT_NONCE, 'recipientNonce')).toEqual(to.senderNonce);
    const nonce = attributes.octetString(ID_SENDER_NONCE, 'senderNonce');
    expect(nonce?.length).toBe(16);
    expect(nonce).not.toEqual(openSignedData(failureReply(to, 'badMessageCheck', ra)).attributes.octetString(ID_SENDER_NONCE, 'senderNonce'));
  });

  it('PENDING: status 3 and no failInfo', () => {
    const reply = pendingReply(to, ra);
    expect(verifiedContent(reply).length).toBe(0);
    const { attributes } = openSignedData(reply);
    expect(attributes.printableString(ID_PKI_STATUS, 'pkiStatus', 2)).toBe('3');
    expect(attributes.printableString(ID_FAIL_INFO, 'failInfo', 2)).toBeUndefined();
  });

  it('SUCCESS: the issued certificate first, enveloped with AES to the requester certificate', () => {
    const issued = pki.otherRa().certificate;
    const reply = successReply({ ...to, signerCertificate: requester.certificate, contentCipher: 'des-cbc' }, { certificates: [issued, pki.caCertificate] }, ra);
    file('envelope.der', verifiedContent(reply));
    expect(openssl('cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'envelope.der')).toContain('aes-128-cbc');
    openssl('cms', '-decrypt', '-inform', 'DER', '-in', 'envelope.der', '-recip', file('requester.pem', pem('CERTIFICATE', requester.certificate)), '-inkey', file('requester.key', requester.keyPem), '-out', 'certs.p7b', '-binary');
    const printed = openssl('pkcs7', '-inform', 'DER', '-in', 'certs.p7b', '-print_certs');
    expect(printed.indexOf(pem('CERTIFICATE', issued))).toBeGreaterThanOrEqual(0);
    expect(printed.indexOf(pem('CERTIFICATE', issued))).toBeLessThan(printed.indexOf(pem('CERTIFICATE', pki.caCertificate)));
  });

  it('SUCCESS for GetCRL: the CRL in a certs-only SignedData, in the cipher the request came in', () => {
    const crl = pki.crl();
    const reply = successReply({ ...to, signerCertificate: requester.certificate, contentCipher: 'aes-256-cbc' }, { crl }, ra);
    file('envelope.der', verifiedContent(reply));
    expect(openssl('cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'envelope.der')).toContain('aes-256-cbc');
    openssl('cms', '-decrypt', '-inform', 'DER', '-in', 'envelope.der', '-recip', file('requester.pem', pem('CERTIFICATE', requester.certificate)), '-inkey', file('requester.key', requester.keyPem), '-out', 'crl.p7b', '-binary');
    expect(openssl('pkcs7', '-inform', 'DER', '-in', 'crl.p7b', '-print_certs')).toContain(pem('X509 CRL', crl));
  });

  it('carries the certificates byte for byte as the CA issued them', () => {
    const issued = pki.otherRa().certificate;
    const reply = successReply({ ...to, signerCertificate: requester.certificate, contentCipher: 'aes-128-cbc' }, { certificates: [issued] }, ra);
    file('envelope.der', verifiedContent(reply));
    openssl('cms', '-decrypt', '-inform', 'DER', '-in', 'envelope.der', '-recip', file('requester.pem', pem('CERTIFICATE', requester.certificate)), '-inkey', file('requester.key', requester.keyPem), '-out', 'certs.p7b', '-binary');
    expect(readFileSync(join(dir, 'certs.p7b')).includes(issued)).toBe(true);
  });
});
