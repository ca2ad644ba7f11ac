import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/config';
import type { SignerEvent, SignerRequest } from '../ipc.js';
import { TokenError, type Token } from '../token/token.js';
import { parseCaCertificate } from '../x509/ca-certificate.js';
import { ecdsaRawToDer } from '../x509/signature-algorithm.js';
import { createCertTemplate } from '../x509/template.js';
import { createSignerHandler, type SignerHandler } from './certificate-signer.js';
import { parseSignerRequest } from './requests.js';

/** A token that signs with an EC P-384 key in memory, the way the PKCS#11 adapter does (raw r||s, then DER). */
class FakeToken implements Token {
  readonly info = { label: 'fake', serial: '1', slot: 0, pinCountLow: false, pinFinalTry: false, pinLocked: false };
  gone = false;
  present = true;
  presenceChecks = 0;
  constructor(private readonly key: KeyObject) {}
  login(): void {}
  sign(data: Buffer): Buffer {
    if (this.gone) throw new TokenError('gone', 'signing: CKR_DEVICE_REMOVED');
    return ecdsaRawToDer(sign('sha384', data, { key: this.key, dsaEncoding: 'ieee-p1363' }));
  }
  checkPresence() {
    this.presenceChecks++;
    return this.present ? { ok: true } : { ok: false, reason: 'token serial changed' };
  }
  close(): void {}
}

let dir: string;
let ca: ReturnType<typeof parseCaCertificate>;
let token: FakeToken;
let signer: SignerHandler;
/** One request on its own: handled, then confirmed by its own presence check. */
const handle = (request: SignerRequest): SignerEvent => signer.confirm([signer.handle(request)])[0]!;
const log: string[] = [];
const userSpki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const now = Math.floor(Date.now() / 1000) * 1000;
const noPayload = (): Buffer => {
  throw new Error('no payload expected');
};
const signCert = (id: string, extra: object = {}): SignerRequest =>
  parseSignerRequest(JSON.stringify({ type: 'sign-cert', id, serial: '7F01', subject: [{ type: 'CN', value: 'Jane' }], emails: [], spki: userSpki, notBefore: now, notAfter: now + 3600_000, ...extra }), noPayload);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'etoken-signer-unit-'));
  const [keyFile, certFile] = [join(dir, 'ca.key'), join(dir, 'ca.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=EC CA'], { stdio: 'pipe' });
  ca = parseCaCertificate(readFileSync(certFile));
  token = new FakeToken(createPrivateKey(readFileSync(keyFile)));
  signer = createSignerHandler(createCertTemplate(parseConfig('', 'test.conf'), ca), ca, token, (line) => log.push(line));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('signer request handling', () => {
  it('answers a certificate signed with ecdsa-with-SHA384', () => {
    const event = handle(signCert('a'));
    expect(event).toMatchObject({ type: 'cert', id: 'a', tokenOk: true });
    const cert = new X509Certificate(Buffer.from((event as Extract<SignerEvent, { type: 'cert' }>).der, 'base64'));
    expect(cert.serialNumber).toBe('7F01');
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIssued(ca.x509)).toBe(true);
  });

  it('refuses what the token signed with a key other than the CA certificate\'s', () => {
    const stranger = new FakeToken(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
    const strangers = createSignerHandler(createCertTemplate(parseConfig('', 'test.conf'), ca), ca, stranger, () => undefined);
    expect(strangers.handle(signCert('s1'))).toMatchObject({ type: 'error', id: 's1', tokenGone: false, reason: 'signed certificate does not verify with the CA public key' });
  });

  it('refuses an invariant violation without touching the token', () => {
    token.gone = true;
    expect(handle(signCert('b', { notAfter: now + 400 * 86400_000 }))).toMatchObject({ type: 'error', id: 'b', tokenGone: false, reason: expect.stringMatching(/past the CA|MAX_LIFETIME/) });
    token.gone = false;
  });

  it('reports a gone token, and a failed check after signing as tokenOk false', () => {
    token.gone = true;
    expect(handle(signCert('c'))).toMatchObject({ type: 'error', id: 'c', tokenGone: true });
    token.gone = false;
    token.present = false;
    expect(handle(signCert('d'))).toMatchObject({ type: 'cert', id: 'd', tokenOk: false });
    expect(handle({ type: 'check', id: 'e' })).toEqual({ type: 'check', id: 'e', ok: false, reason: 'token serial changed' });
    expect(log.join('\n')).toContain('request d: token check after signing failed');
    token.present = true;
    expect(handle({ type: 'check', id: 'f' })).toEqual({ type: 'check', id: 'f', ok: true });
  });

  it('confirms signatures that arrived together with one presence check after the last of them', () => {
    const before = token.presenceChecks;
    const signed = [signer.handle(signCert('g1')), signer.handle(signCert('g2', { notAfter: now + 400 * 86400_000 })), signer.handle(signCert('g3'))];
    expect(token.presenceChecks).toBe(before);
    token.present = false;
    expect(signer.confirm(signed)).toMatchObject([
      { type: 'cert', id: 'g1', tokenOk: false },
      { type: 'error', id: 'g2' },
      { type: 'cert', id: 'g3', tokenOk: false },
    ]);
    expect(token.presenceChecks).toBe(before + 1);
    token.present = true;
    expect(signer.confirm([signer.handle(signCert('g4'))])).toMatchObject([{ type: 'cert', id: 'g4', tokenOk: true }]);
    expect(signer.confirm([signer.handle(signCert('g5', { notAfter: now + 400 * 86400_000 }))])).toMatchObject([{ type: 'error', id: 'g5' }]);
    expect(token.presenceChecks).toBe(before + 2);
  });
});

describe('request lines', () => {
  it('refuses malformed lines with a reason and, where it can, the id', () => {
    expect(() => parseSignerRequest('{', noPayload)).toThrow(/not JSON/);
    expect(() => parseSignerRequest('{"type":"check"}', noPayload)).toThrow(/no valid id/);
    expect(() => parseSignerRequest('{"type":"sign","id":"x"}', noPayload)).toThrow(/unknown request type/);
    expect(() => signCert('x', { subject: [{ type: 'CN' }] })).toThrow(expect.objectContaining({ id: 'x', message: 'subject is not a list of RDNs' }));
    expect(() => signCert('x', { notBefore: 1.5 })).toThrow(/whole milliseconds/);
    expect(() => signCert('x', { spki: 'a b' })).toThrow(/base64/);
  });

  it('reads a CRL from the bytes after its line, also when the request is refused', () => {
    const tbs = Buffer.from('3000', 'hex');
    const reads: number[] = [];
    const payload = (bytes: number): Buffer => (reads.push(bytes), tbs.subarray(0, bytes));
    expect(parseSignerRequest('{"type":"sign-crl","id":"c1","bytes":2}', payload)).toEqual({ type: 'sign-crl', id: 'c1', tbs });
    expect(() => parseSignerRequest('{"type":"sign-crl","bytes":2}', payload)).toThrow(/no valid id/);
    expect(() => parseSignerRequest('{"type":"sign-crl","id":"c2"}', payload)).toThrow(/without its TBSCertList/);
    expect(reads).toEqual([2, 2]);
    expect(() => parseSignerRequest('{"type":"check","id":"c3","bytes":-1}', payload)).toThrow(/impossible payload/);
  });

  it('keeps only the known fields', () => {
    expect(signCert('x', { extra: 1, subject: [{ type: 'CN', value: 'v', more: 2 }] })).toEqual({
      type: 'sign-cert', id: 'x', serial: '7F01', subject: [{ type: 'CN', value: 'v' }], emails: [], spki: userSpki, notBefore: now, notAfter: now + 3600_000,
    });
  });
});
