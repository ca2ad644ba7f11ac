import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import type { LoginRequest, SignerEvent, SignerRequest } from '@etoken-ca/protocol/signer-messages';
import { parseCaCertificate } from '@etoken-ca/x509/ca-certificate';
import { ecdsaRawToDer } from '@etoken-ca/x509/signature-algorithm';
import type { CertificateContent } from '@etoken-ca/x509/template';
import { createCertTemplate } from '@etoken-ca/x509/template';
import { createSignerHandler, type SignerHandler } from './certificate-signer.js';
import { TokenError, type Token } from './token/token.js';

/** A token that signs with an EC P-384 key in memory, the way the PKCS#11 adapter does (raw r||s, then DER). */
class FakeToken implements Token {
  readonly info = { label: 'fake', serial: '1', slot: 0, pinCountLow: false, pinFinalTry: false, pinLocked: false };
  gone = false;
  /** The next signatures fail with CKR_DEVICE_ERROR, the token staying there. */
  deviceErrors = 0;
  present = true;
  presenceChecks = 0;
  constructor(private readonly key: KeyObject) {}
  currentInfo() {
    return this.info;
  }
  login(): void {}
  sign(data: Buffer): Buffer {
    if (this.gone) throw new TokenError('gone', 'signing: CKR_DEVICE_REMOVED');
    if (this.deviceErrors > 0) {
      this.deviceErrors--;
      throw new TokenError('device', 'signing: CKR_DEVICE_ERROR');
    }
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
const handle = (request: Exclude<SignerRequest, LoginRequest>): SignerEvent => signer.confirm([signer.handle(request)])[0]!;
const log: string[] = [];

const userSpki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
const now = Math.floor(Date.now() / 1000) * 1000;
const config = parseConfig('DN_FORMAT=/O=Example%s\n', 'test.conf');
const signCert = (id: string, content: Partial<CertificateContent> = {}): Exclude<SignerRequest, LoginRequest> => ({
  type: 'sign-cert',
  id,
  content: { serial: '7F01', subject: [{ type: 'O', value: 'Example' }, { type: 'CN', value: 'Jane' }], emails: [], spki: userSpki, notBefore: now, notAfter: now + 3600_000, ...content },
});

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'etoken-signer-unit-'));
  const [keyFile, certFile] = [join(dir, 'ca.key'), join(dir, 'ca.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=EC CA'], { stdio: 'pipe' });
  ca = parseCaCertificate(readFileSync(certFile));
  token = new FakeToken(createPrivateKey(readFileSync(keyFile)));
  signer = createSignerHandler(createCertTemplate(config, ca), ca, token, (line) => log.push(line));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('signer request handling', () => {
  it('answers a certificate signed with ecdsa-with-SHA384', () => {
    const event = handle(signCert('a'));
    expect(event).toMatchObject({ type: 'cert', id: 'a', tokenOk: true });
    const cert = new X509Certificate((event as Extract<SignerEvent, { type: 'cert' }>).der);
    expect(cert.serialNumber).toBe('7F01');
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIssued(ca.x509)).toBe(true);
  });

  it('refuses what the token signed with a key other than the CA certificate\'s', () => {
    const stranger = new FakeToken(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
    const strangers = createSignerHandler(createCertTemplate(config, ca), ca, stranger, () => undefined);
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

describe('what reaches the token', () => {
  it('fails only the request a device error hit when the token is still there, and reports it gone when it is not', () => {
    token.deviceErrors = 1;
    expect(handle(signCert('d1'))).toEqual({ type: 'error', id: 'd1', reason: 'signing: CKR_DEVICE_ERROR', tokenGone: false, deviceError: true });
    expect(handle(signCert('d2'))).toMatchObject({ type: 'cert', id: 'd2', tokenOk: true });
    token.deviceErrors = 1;
    token.present = false;
    expect(handle(signCert('d3'))).toMatchObject({ type: 'error', id: 'd3', tokenGone: true, reason: expect.stringMatching(/CKR_DEVICE_ERROR; token serial changed/) });
    token.present = true;
  });
});

describe('the namespace, whatever the supervisor says', () => {
  it('refuses a subject outside the CA namespace without touching the token', () => {
    token.gone = true;
    expect(handle(signCert('n1', { subject: [{ type: 'O', value: 'Elsewhere' }, { type: 'CN', value: 'Jane' }] }))).toMatchObject({
      type: 'error',
      id: 'n1',
      tokenGone: false,
      reason: 'subject /O=Elsewhere/CN=Jane outside the CA namespace',
    });
    token.gone = false;
  });

  it("refuses the CA's own subject, even inside the namespace", () => {
    const own = createSignerHandler(createCertTemplate(parseConfig('DN_FORMAT=/CN=%s\n', 'own.conf'), ca), ca, token, () => undefined);
    expect(own.handle(signCert('n2', { subject: [{ type: 'CN', value: 'EC CA' }] }))).toMatchObject({ type: 'error', id: 'n2', reason: "subject equal to the CA's own" });
  });
});
