/**
 * The signer process against SoftHSM, started the way the supervisor starts
 * it (the product's spawnNode, as causer, an empty environment, PIN on fd 3),
 * spoken to in the protocol's frames. Needs the dist build.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, chmodSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomSerial } from '@etoken-ca/contract/core/serial';
import { encodeFrame } from '@etoken-ca/protocol/frames';
import { encodeSignerRequest, readSignerEvent, type SignCertRequest, type SignerEvent, type SignerRequest } from '@etoken-ca/protocol/signer-messages';
import { createTestToken, openssl, type TestToken } from '../helpers/softhsm.js';
import { systemUser, type SystemUser } from '../helpers/users.js';
import { WorkerProcess } from '../helpers/worker-process.js';

const POLICY_OIDS = ['1.3.6.1.4.1.99999.1.2.3', '1.2.840.113612.5.2.2.1'];
const CRL_URL = 'http://ca.example.org/etoken-ca.crl';

/** A sysconfig file for `token`, optionally trusting another token's CA certificate. */
function writeConfig(dir: string, token: TestToken, caCertPath = token.caCertPath): string {
  const file = join(dir, `etoken-ca-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(
    file,
    [
      `PKCS11_MODULE=${token.modulePath}`,
      `PKCS11_ENV=SOFTHSM2_CONF=${token.conf}`,
      `TOKEN_LABEL=${token.label}`,
      'DN_FORMAT=/DC=org%s',
      `CA_CERT=${caCertPath}`,
      `CA_DIR=${dir}/ca`,
      `SPOOL_DIR=${dir}/spool`,
      `CA_OIDS=${POLICY_OIDS.join(',')}`,
      `CRL_URLS=URI:${CRL_URL}`,
      'MAX_LIFETIME=86400',
      'BACKDATE=300',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  return file;
}

/** The supervisor's side of the signer's pipes. */
class SignerProcess {
  readonly worker: WorkerProcess;

  constructor(configFile: string, user: SystemUser) {
    this.worker = new WorkerProcess('signer', ['--config', configFile], user, 1);
    this.worker.pipe(3).on('error', () => undefined);
  }

  get stderr(): string[] {
    return this.worker.stderr;
  }

  get exited(): Promise<number | null> {
    return this.worker.exited.then((e) => e.code);
  }

  async next(): Promise<SignerEvent> {
    const frame = await this.worker.next();
    if (!frame) throw new Error(`the signer closed its output: ${this.stderr.join(' ')}`);
    return readSignerEvent(frame);
  }

  /** The PIN on its pipe, then the login request naming the token it is for. */
  sendPin(pin: string, serial: string): void {
    this.worker.pipe(3).end(`${pin}\n`);
    this.send({ type: 'login', serial, finalTryConfirmed: false });
  }

  send(request: SignerRequest): void {
    this.worker.send(encodeSignerRequest(request));
  }

  /** The answer to `request`; a signature is announced before it is made, and only then. */
  async request(request: SignerRequest): Promise<SignerEvent> {
    this.send(request);
    const event = await this.next();
    if (event.type !== 'signing') return event;
    expect(event).toEqual({ type: 'signing', ids: [(request as { id: string }).id] });
    const answer = await this.next();
    expect(answer.type === 'cert' || answer.type === 'crl' || answer.type === 'error').toBe(true);
    return answer;
  }

  stop(): Promise<number | null> {
    return this.worker.stop();
  }
}

const USER_KEYS = {
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
  ec: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
};

function userRequest(keyType: 'rsa' | 'ec', id: string): SignCertRequest {
  const now = Math.floor(Date.now() / 1000) * 1000;
  return {
    type: 'sign-cert',
    id,
    content: {
      serial: randomSerial(),
      subject: [
        { type: 'DC', value: 'org' },
        { type: 'O', value: 'Example' },
        { type: 'CN', value: 'John Doe' },
      ],
      emails: ['jdoe@example.org'],
      spki: USER_KEYS[keyType].export({ type: 'spki', format: 'der' }),
      notBefore: now - 300_000,
      notAfter: now + 12 * 3600_000,
    },
  };
}

async function startReady(configFile: string, token: TestToken, user: SystemUser): Promise<SignerProcess> {
  const signer = new SignerProcess(configFile, user);
  const first = await signer.next();
  expect(first, signer.stderr.join('\n')).toMatchObject({ type: 'token', token: { label: token.label, serial: token.serial } });
  signer.sendPin(token.pin, token.serial);
  expect(await signer.next()).toEqual({ type: 'ready' });
  return signer;
}

describe('signer process on SoftHSM', () => {
  let dir: string;
  let causer: SystemUser;
  let rsaToken: TestToken;
  let ecToken: TestToken;
  const tokens: TestToken[] = [];

  beforeAll(() => {
    causer = systemUser('causer');
    dir = mkdtempSync(join(tmpdir(), 'etoken-signer-test-'));
    chmodSync(dir, 0o755);
    rsaToken = createTestToken({ label: 'signer-rsa', keyType: 'rsa', owner: 'causer' });
    tokens.push(rsaToken);
    ecToken = createTestToken({ label: 'signer-ec', keyType: 'ec-p256', owner: 'causer' });
    tokens.push(ecToken);
  });

  afterAll(() => {
    for (const token of tokens) token.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  function checkWithOpenssl(event: SignerEvent, ca: TestToken, request: SignCertRequest): string {
    expect(event).toMatchObject({ type: 'cert', id: request.id, tokenOk: true });
    const der = (event as { der: Buffer }).der;
    const certFile = join(dir, `${request.id}.pem`);
    writeFileSync(certFile, new X509Certificate(der).toString());
    expect(openssl(['verify', '-CAfile', ca.caCertPath, certFile]).trim()).toBe(`${certFile}: OK`);
    const text = openssl(['x509', '-in', certFile, '-noout', '-text']);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical/);
    expect(text).not.toMatch(/Certificate Sign|CRL Sign/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication/);
    for (const oid of POLICY_OIDS) expect(text).toContain(`Policy: ${oid}`);
    expect(text).toContain(`URI:${CRL_URL}`);
    expect(text).toMatch(/Subject Alternative Name:\s+email:jdoe@example.org/);
    expect(text).toContain('Subject: DC = org, O = Example, CN = John Doe');
    expect(text).toContain(`Serial Number:`);
    return text;
  }

  it('signs RSA-2048 and EC P-256 user certificates as causer, not dumpable', async () => {
    const signer = await startReady(writeConfig(dir, rsaToken), rsaToken, causer);
    const rsa = userRequest('rsa', 'rsa');
    const rsaText = checkWithOpenssl(await signer.request(rsa), rsaToken, rsa);
    expect(rsaText).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(rsaText).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    const ec = userRequest('ec', 'ec');
    expect(checkWithOpenssl(await signer.request(ec), rsaToken, ec)).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(await signer.request({ type: 'check', id: 'c1' })).toEqual({ type: 'check', id: 'c1', ok: true });
    expect(await signer.stop()).toBe(0);
    expect(signer.stderr.join('\n')).not.toContain(rsaToken.pin);
  });

  it('signs with an EC P-256 CA key', async () => {
    const signer = await startReady(writeConfig(dir, ecToken), ecToken, causer);
    const request = userRequest('rsa', 'ec-ca');
    expect(checkWithOpenssl(await signer.request(request), ecToken, request)).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(await signer.stop()).toBe(0);
  });

  it('refuses what breaks an invariant and keeps serving', async () => {
    const signer = await startReady(writeConfig(dir, rsaToken), rsaToken, causer);
    const base = userRequest('ec', 'too-long');
    const tooLong: SignCertRequest = { ...base, content: { ...base.content, notAfter: Date.now() + 30 * 86400_000 } };
    expect(await signer.request(tooLong)).toMatchObject({ type: 'error', id: 'too-long', tokenGone: false, reason: expect.stringContaining('MAX_LIFETIME') });
    const weak = userRequest('ec', 'weak');
    const weakKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' });
    expect(await signer.request({ ...weak, content: { ...weak.content, spki: weakKey } })).toMatchObject({ type: 'error', tokenGone: false, reason: expect.stringContaining('1024 bits') });
    const outside = userRequest('ec', 'outside');
    const subject = [{ type: 'O', value: 'Elsewhere' }, { type: 'CN', value: 'Mallory' }];
    expect(await signer.request({ ...outside, content: { ...outside.content, subject } })).toMatchObject({ type: 'error', tokenGone: false, reason: 'subject /O=Elsewhere/CN=Mallory outside the CA namespace' });
    signer.worker.send(encodeFrame({ type: 'sign-cert', id: 'junk' }));
    expect(await signer.next()).toMatchObject({ type: 'error', id: 'junk', tokenGone: false });
    const ok = userRequest('ec', 'after-refusals');
    checkWithOpenssl(await signer.request(ok), rsaToken, ok);
    expect(await signer.stop()).toBe(0);
  });

  it('reports a wrong PIN as login-failed with pinIncorrect, and exits', async () => {
    const signer = new SignerProcess(writeConfig(dir, rsaToken), causer);
    expect((await signer.next()).type).toBe('token');
    signer.sendPin('00000000', rsaToken.serial);
    expect(await signer.next()).toMatchObject({ type: 'login-failed', pinIncorrect: true, pinLocked: false });
    expect(await signer.exited).not.toBe(0);
  });

  it('refuses a different token with the same label before reading any PIN', async () => {
    const impostor = createTestToken({ label: rsaToken.label, keyType: 'rsa', owner: 'causer' });
    tokens.push(impostor);
    const signer = new SignerProcess(writeConfig(dir, impostor, rsaToken.caCertPath), causer);
    const event = await signer.next();
    expect(event).toMatchObject({ type: 'fatal', tokenGone: false });
    expect((event as { reason: string }).reason).toMatch(/does not hold the public key of the CA certificate/);
    expect(await signer.exited).not.toBe(0);
  });

  it('answers tokenGone once the token is pulled', async () => {
    const pulled = createTestToken({ label: 'signer-pulled', keyType: 'rsa', owner: 'causer' });
    tokens.push(pulled);
    const signer = await startReady(writeConfig(dir, pulled), pulled, causer);
    const before = userRequest('ec', 'before-pull');
    checkWithOpenssl(await signer.request(before), pulled, before);
    pulled.remove();
    signer.send(userRequest('ec', 'after-pull'));
    signer.send(userRequest('ec', 'never-started'));
    expect(await signer.next()).toMatchObject({ type: 'signing', ids: expect.arrayContaining(['after-pull']) });
    expect(await signer.next()).toMatchObject({ type: 'error', id: 'after-pull', tokenGone: true });
    // Nothing more goes to a token found gone: the signer says so and ends, the request after it unanswered.
    expect(await signer.next()).toMatchObject({ type: 'fatal', tokenGone: true });
    expect(await signer.exited).toBe(69);
  });

  it('answers presence checks with the PIN flags while it waits for the login, and never tries a PIN for another token', async () => {
    const signer = new SignerProcess(writeConfig(dir, rsaToken), causer);
    expect((await signer.next()).type).toBe('token');
    expect(await signer.request({ type: 'check', id: 'before-login' })).toEqual({
      type: 'check',
      id: 'before-login',
      ok: true,
      // A wrong PIN earlier in this file may have set SoftHSM's count-low flag.
      token: { label: rsaToken.label, serial: rsaToken.serial, slot: 0, pinCountLow: expect.any(Boolean), pinFinalTry: false, pinLocked: false },
    });
    signer.sendPin(rsaToken.pin, 'another-token');
    expect(await signer.next()).toMatchObject({ type: 'fatal', tokenGone: true, reason: expect.stringMatching(/serial is now .*, not another-token/) });
    expect(await signer.exited).toBe(69);
  });
});
