/**
 * The SCEP front end and the CA side under hostile input, on the real chain.
 * Through HTTP: malformed CMS, an envelope for another recipient, a weak
 * cipher, a bad signature, a wrong message type, a reused transaction id,
 * oversize bodies, slow clients and thousands of connections get a clean
 * FAILURE or an HTTP error, nothing is issued, and the server keeps
 * serving. Through the spool, as a compromised scep account that skips the
 * front end: a wrong challenge, a renewal under a forged or unknown signer,
 * a CSR outside the profile, a wrong content key and garbage get nothing.
 */
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { raCredentials, type RaCredentials } from '@etoken-ca/scep-server/core/index';
import { csrOf, forgedCertificate, pkiMessage, selfSignedIdentity, withCertificate, type ClientIdentity } from '../../packages/scep-server/src/testing/pki-messages.js';
import { forgedSpoolEntry, forgeEntry } from '../helpers/scep-forger.js';
import { startScepCa, type ScepCa } from '../helpers/scep-ca.js';
import { pollUntil } from '../helpers/wait-until.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 600_000 });

const HOST = '/DC=org/DC=example/OU=hosts/CN=h1.example.org';
const MAX_CONNECTIONS = 300;

let ca: ScepCa;
let ra: RaCredentials;
let caSubject: string;

const issued = (): number => ca.server.events('cert.issued').length;
const post = (body: Buffer, query = 'operation=PKIOperation'): Promise<Response> => fetch(`${ca.url}?${query}`, { method: 'POST', body: new Uint8Array(body) });
const caps = async (): Promise<number> => (await fetch(`${ca.url}?operation=GetCACaps`)).status;

/** The pkiStatus and failInfo of a CertRep, read back with the core (the RA's own reply, opened as a client would not need to). */
function statusOf(reply: Buffer): { status: string; failInfo?: string } {
  const text = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER'], { input: reply }).toString('latin1');
  const printable = (oid: string): string | undefined => {
    const at = text.indexOf(oid);
    return at < 0 ? undefined : /PRINTABLESTRING:([^\n]*)/.exec(text.slice(at))?.[1]?.trim();
  };
  const status = printable('2.16.840.1.113733.1.9.3');
  const fail = printable('2.16.840.1.113733.1.9.4');
  return { status: { '0': 'SUCCESS', '2': 'FAILURE', '3': 'PENDING' }[status ?? ''] ?? `unknown ${status}`, ...(fail ? { failInfo: ['badAlg', 'badMessageCheck', 'badRequest', 'badTime', 'badCertId'][Number(fail)] } : {}) };
}

async function certRep(body: Buffer): Promise<{ status: string; failInfo?: string }> {
  const response = await post(body);
  expect(response.status, await response.clone().text()).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/x-pki-message');
  return statusOf(Buffer.from(await response.arrayBuffer()));
}

function enrollment(identity: ClientIdentity, subject: string, options: Parameters<typeof csrOf>[2] & { messageType?: string; txid?: string; cipher?: 'des-cbc' | 'aes-128-cbc'; recipient?: Buffer } = {}): Buffer {
  return pkiMessage(identity, csrOf(identity, subject, options), {
    messageType: options.messageType ?? '19',
    transactionId: options.txid ?? randomBytes(16).toString('hex'),
    recipient: options.recipient ?? ra.certificateDer,
    ...(options.cipher ? { cipher: options.cipher } : {}),
  });
}

/** A spool entry as the front end writes it (whatever the front end would think of the message). */
const spoolEntry = (message: Buffer, contentKey?: Buffer): Buffer => forgedSpoolEntry(message, ra, contentKey);

beforeAll(async () => {
  ca = await startScepCa(`e2e-scep-hostile-${process.pid}`, { SCEP_UNAUTHENTICATED: 'wait', SCEP_MAX_CONNECTIONS: String(MAX_CONNECTIONS), SCEP_READ_TIMEOUT: '2' });
  const scepDir = join(ca.fixture.dir, 'scep');
  ra = raCredentials(new X509Certificate(readFileSync(join(scepDir, 'ra.pem'))).raw, createPrivateKey(readFileSync(join(scepDir, 'ra.key'))));
  caSubject = execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'compat', '-in', ca.token.caCertPath], { encoding: 'utf8' }).replace(/^subject=/, '').trim();
});

afterAll(async () => {
  await ca?.stop();
});

describe('hostile HTTP input', () => {
  it('answers malformed CMS with HTTP 400, and keeps serving', async () => {
    const real = enrollment(selfSignedIdentity(HOST), HOST, { challenge: 'x' });
    for (const body of [randomBytes(700), real.subarray(0, real.length - 40), Buffer.concat([real, Buffer.of(0)]), Buffer.alloc(0), Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])]) {
      const response = await post(body);
      expect(response.status).toBe(400);
    }
    expect((await fetch(`${ca.url}?operation=PKIOperation&message=%%%`)).status).toBe(400);
    expect(await caps()).toBe(200);
  });

  it('answers an envelope for another recipient, a weak cipher, a bad signature and a wrong message type with a signed FAILURE', async () => {
    const before = issued();
    const identity = selfSignedIdentity(HOST);
    expect(await certRep(enrollment(identity, HOST, { recipient: new X509Certificate(ca.token.caCertPem).raw }))).toEqual({ status: 'FAILURE', failInfo: 'badRequest' });
    expect(await certRep(enrollment(identity, HOST, { cipher: 'des-cbc' }))).toEqual({ status: 'FAILURE', failInfo: 'badAlg' });
    const signed = enrollment(identity, HOST);
    const signature = signed.subarray(signed.length - 256);
    const flipped = Buffer.from(signed);
    flipped[signed.length - 256 + 10]! ^= 0x40;
    expect(signature.length).toBe(256);
    expect(await certRep(flipped)).toEqual({ status: 'FAILURE', failInfo: 'badMessageCheck' });
    expect(await certRep(enrollment(identity, HOST, { messageType: '3' }))).toEqual({ status: 'FAILURE', failInfo: 'badRequest' });
    expect(await certRep(enrollment(identity, HOST, { messageType: '17' }))).toEqual({ status: 'FAILURE', failInfo: 'badCertId' });
    expect(issued()).toBe(before);
  });

  it('refuses another request under a transaction id in progress, and answers a replay from the record', async () => {
    const identity = selfSignedIdentity(HOST);
    const txid = randomBytes(16).toString('hex');
    const first = enrollment(identity, HOST, { txid, dnsNames: ['h1.example.org'] });
    expect(await certRep(first)).toEqual({ status: 'PENDING' });
    expect(await certRep(first)).toEqual({ status: 'PENDING' });
    expect(await certRep(enrollment(identity, HOST, { txid, dnsNames: ['h2.example.org'] }))).toEqual({ status: 'FAILURE', failInfo: 'badRequest' });
    expect(JSON.parse(ca.command(['pending', '--json']).stdout).map((w: { transactionId: string }) => w.transactionId)).toContain(txid);
  });

  it('refuses bodies over 64 KiB with 413, unknown operations with 400 and other methods with 405', async () => {
    expect((await post(randomBytes(70 * 1024))).status).toBe(413);
    expect((await fetch(`${ca.url}?operation=GetEverything`)).status).toBe(400);
    expect((await fetch(ca.url, { method: 'PUT', body: 'x' })).status).toBe(405);
    expect(await caps()).toBe(200);
  });

  it('cuts a slow client off after SCEP_READ_TIMEOUT, and serves others meanwhile', async () => {
    const slow = connect(ca.port, '127.0.0.1');
    const closed = new Promise<number>((resolve) => {
      const started = Date.now();
      slow.on('close', () => resolve(Date.now() - started));
      slow.on('error', () => undefined);
    });
    slow.write('POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n');
    const drip = setInterval(() => slow.write('0'), 200);
    expect(await caps()).toBe(200);
    const after = await closed;
    clearInterval(drip);
    expect(after).toBeLessThan(10_000);
  });

  it('bounds thousands of concurrent connections and serves again once they are gone', async () => {
    const serverDescriptors = (): number => readdirSync(`/proc/${ca.front.child.pid}/fd`).length;
    const idleDescriptors = serverDescriptors();
    const sockets: Socket[] = [];
    for (let i = 0; i < 2000; i++) {
      const socket = connect(ca.port, '127.0.0.1');
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
    try {
      // Counted where it matters, in the server, all along: connections past the bound are closed as they are accepted;
      // the idle ones it took are cut off by the read timeout, so that it holds no more descriptors than before; then it
      // is there for everyone again. Counted in the server, not the client: a client whose handshake met a full accept
      // queue believes itself connected while the server has not taken it yet. Waited for until the server was seen
      // at its bound (not idle before it accepted anything) and back to idle.
      let most = 0;
      await pollUntil(
        () => {
          const now = serverDescriptors();
          most = Math.max(most, now);
          return most >= idleDescriptors + MAX_CONNECTIONS / 2 && now <= idleDescriptors + 2;
        },
        60_000,
        () => `the server was not seen at its bound and back to idle (most ${most}, now ${serverDescriptors()}, idle ${idleDescriptors})`,
        20,
      );
      expect(most).toBeLessThanOrEqual(MAX_CONNECTIONS + 60);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    expect(await caps()).toBe(200);
    expect(ca.front.exited).toBe(false);
  });
});

describe('a compromised SCEP account, writing the spool itself', () => {
  it('gets nothing for a wrong challenge, a bad content key or garbage', async () => {
    const before = issued();
    const identity = selfSignedIdentity(HOST);
    expect(await forgeEntry(ca.fixture.dir + '/scep-spool', spoolEntry(enrollment(identity, HOST, { challenge: 'guessed-challenge' })))).toMatchObject({ status: 'FAILURE', failInfo: 'badRequest' });
    expect(await forgeEntry(ca.fixture.dir + '/scep-spool', spoolEntry(enrollment(identity, HOST), randomBytes(32)))).toMatchObject({ status: 'FAILURE', failInfo: 'badMessageCheck' });
    expect(await forgeEntry(ca.fixture.dir + '/scep-spool', randomBytes(300))).toMatchObject({ status: 'FAILURE', failInfo: 'badRequest' });
    expect(issued()).toBe(before);
  });

  it('gets nothing for a renewal under a forged certificate carrying a real serial, or under an unknown signer', async () => {
    // A real certificate of the CA for the subject, through a challenge.
    const holder = selfSignedIdentity(HOST);
    const challenge = ca.challenge(HOST);
    const reply = await post(enrollment(holder, HOST, { challenge }));
    expect(statusOf(Buffer.from(await reply.arrayBuffer())).status).toBe('SUCCESS');
    const real = (await ca.server.waitFor('scep.issued')).at(-1)!;
    const before = issued();

    const attacker = selfSignedIdentity(HOST);
    const forged = withCertificate(attacker, forgedCertificate(attacker, HOST, String(real.serial), caSubject));
    expect(await forgeEntry(ca.fixture.dir + '/scep-spool', spoolEntry(enrollment(forged, HOST, { messageType: '17' })).subarray(0), 20_000)).toMatchObject({ status: 'FAILURE', failInfo: 'badCertId' });
    // As a PKCSReq the forged signer is no certificate of this CA's: unauthenticated, it may only wait for an operator.
    const pkcsReq = await forgeEntry(ca.fixture.dir + '/scep-spool', spoolEntry(enrollment(forged, HOST)));
    expect(pkcsReq?.status).toBe('PENDING');
    expect((await ca.server.waitFor('scep.workflow', 3)).at(-1)).toMatchObject({ auth: 'none' });
    expect(await forgeEntry(ca.fixture.dir + '/scep-spool', spoolEntry(enrollment(selfSignedIdentity(HOST), HOST, { messageType: '17' })))).toMatchObject({ status: 'FAILURE', failInfo: 'badCertId' });
    expect(issued()).toBe(before);
  });

  it('gets nothing for a CSR outside the profile even with a valid challenge, which stays unused', async () => {
    const before = issued();
    const subject = '/DC=org/DC=example/OU=hosts/CN=h3.example.org';
    const challenge = ca.challenge(subject);
    const identity = selfSignedIdentity(subject);
    expect(await forgeEntry(ca.fixture.dir + '/scep-spool', spoolEntry(enrollment(identity, subject, { challenge, dnsNames: ['www.evil.test'] })))).toMatchObject({ status: 'FAILURE', failInfo: 'badRequest' });
    expect(await forgeEntry(ca.fixture.dir + '/scep-spool', spoolEntry(enrollment(identity, '/DC=org/DC=example/OU=admins/CN=root', { challenge })))).toMatchObject({ status: 'FAILURE', failInfo: 'badRequest' });
    expect(await forgeEntry(ca.fixture.dir + '/scep-spool', spoolEntry(enrollment(identity, subject, { challenge, ipAddresses: ['198.51.100.1'] })))).toMatchObject({ status: 'FAILURE', failInfo: 'badRequest' });
    expect(issued()).toBe(before);
    // The challenge was never spent on them: its rightful request gets the certificate.
    const answer = await forgeEntry(ca.fixture.dir + '/scep-spool', spoolEntry(enrollment(identity, subject, { challenge, dnsNames: ['h3.example.org'] })));
    expect(answer?.status).toBe('SUCCESS');
    expect(new X509Certificate(Buffer.from(answer!.certificate!, 'base64')).subjectAltName).toBe('DNS:h3.example.org');
  });
});
