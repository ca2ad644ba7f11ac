/**
 * micromdm's scepclient (Debian's `scep`) against the real chain: the
 * etoken-ca-scep front end as the scep account, etoken-ca-server on a
 * SoftHSM token. scepclient signs with SHA-1 and envelopes with single DES,
 * so SCEP_ALGORITHMS=legacy is configured explicitly. It enrolls with a
 * one-time challenge and renews with a RenewalReq signed by its certificate;
 * every certificate verifies against the CA, shows in `openssl ca -status`,
 * and the replaced one is in the CRL. The RA certificate is renewed with the
 * operator command, and clients enroll through the new one.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requireDebianPackages } from '../../packages/scep-server/src/testing/debian-packages.js';
import { ScepClient } from '../../packages/scep-server/src/testing/scepclient.js';
import { verifiesWithCrl } from '../helpers/revocation.js';
import { RA_SUBJECT, startScepCa, type ScepCa } from '../helpers/scep-ca.js';
import { pollUntil } from '../helpers/wait-until.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 600_000 });

const DEVICE = ['-cn', 'device-1.example.org', '-organization', 'Example', '-ou', 'devices', '-country', 'US'];
const DEVICE_SUBJECT = '/C=US/O=Example/OU=devices/CN=device-1.example.org';

let ca: ScepCa;
const clients: ScepClient[] = [];
const newClient = (): ScepClient => {
  const client = new ScepClient();
  clients.push(client);
  return client;
};
const serialOf = (pem: Buffer): string => new X509Certificate(pem).serialNumber.toUpperCase().replace(/^(00)+(?=.)/, '');
const issuedCount = (): number => ca.server.events('cert.issued').length;

beforeAll(async () => {
  requireDebianPackages(['scep']);
  ca = await startScepCa(`e2e-scepclient-${process.pid}`, { SCEP_ALGORITHMS: 'legacy' });
});

afterAll(async () => {
  for (const client of clients) client.remove();
  await ca?.stop();
});

describe('scepclient through etoken-ca-scep', () => {
  let first: Buffer;

  it('enrolls with a one-time challenge: a certificate of the token CA, valid in the database', async () => {
    const client = newClient();
    const challenge = ca.challenge(DEVICE_SUBJECT);
    expect(challenge).toMatch(/^[0-9a-f]{32}$/);
    const run = await client.run(ca.url, { challenge, subject: DEVICE });
    expect(run.status, run.output).toBe(0);
    first = client.certificate()!;
    const certificate = new X509Certificate(first);
    expect(certificate.verify(new X509Certificate(ca.token.caCertPem).publicKey)).toBe(true);
    expect(certificate.subject).toBe('C=US\nO=Example\nOU=devices\nCN=device-1.example.org');
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(ca.opensslStatus(serialOf(first))).toContain(`${serialOf(first)}=Valid (V)`);
    expect(await ca.server.waitFor('scep.workflow')).toEqual([expect.objectContaining({ subject: DEVICE_SUBJECT, auth: 'challenge', kind: 'enroll' })]);
    // The challenge is stored as its hash only, never as itself.
    const journal = readFileSync(join(ca.fixture.caDir, 'journal', '00000001.jnl'), 'latin1');
    expect(journal).not.toContain(challenge);

    // Used once: the same challenge opens nothing more.
    const again = await newClient().run(ca.url, { challenge, subject: DEVICE });
    expect(again.status).not.toBe(0);
    expect(again.output).toContain('badRequest');
    expect(issuedCount()).toBe(2); // the RA certificate and the device's
  });

  it('refuses a wrong challenge with a FAILURE, and issues nothing', async () => {
    const before = issuedCount();
    const run = await newClient().run(ca.url, { challenge: '00112233445566778899aabbccddeeff', subject: DEVICE });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('badRequest');
    expect(issuedCount()).toBe(before);
  });

  it("renews with a RenewalReq signed by its certificate; the replaced certificate is revoked and lands in the CRL", async () => {
    const client = clients[0]!;
    const run = await client.run(ca.url, { subject: DEVICE });
    expect(run.status, run.output).toBe(0);
    const renewed = client.certificate()!;
    expect(serialOf(renewed)).not.toBe(serialOf(first));
    expect(new X509Certificate(renewed).verify(new X509Certificate(ca.token.caCertPem).publicKey)).toBe(true);
    expect((await ca.server.waitFor('scep.workflow', 2)).at(-1)).toMatchObject({ auth: 'renewal', kind: 'renew', signer: serialOf(first) });
    expect(ca.opensslStatus(serialOf(renewed))).toContain('=Valid (V)');

    const firstFile = join(ca.fixture.dir, 'first.pem');
    writeFileSync(firstFile, first);
    const crl = join(ca.fixture.dir, 'crl', 'crl.pem');
    await pollUntil(() => ca.opensslStatus(serialOf(first)).includes('=Revoked (R)'), 30_000, () => ca.opensslStatus(serialOf(first)));
    await pollUntil(() => !verifiesWithCrl(ca.token.caCertPath, crl, firstFile), 30_000, () => 'the replaced certificate is not in the CRL');
  });

  it('gets a new RA key and certificate from issue-ra-cert --new-key; after a restart the front end serves them and clients enroll through them', async () => {
    const raCertFile = join(ca.fixture.dir, 'scep', 'ra.pem');
    const oldRa = new X509Certificate(readFileSync(raCertFile));
    const issued = ca.command(['issue-ra-cert', '--subject', RA_SUBJECT, '--new-key']);
    expect(issued.code, issued.stderr).toBe(0);
    const newRa = new X509Certificate(readFileSync(raCertFile));
    expect(newRa.serialNumber).not.toBe(oldRa.serialNumber);
    expect(newRa.publicKey.equals(oldRa.publicKey)).toBe(false);
    expect(newRa.verify(new X509Certificate(ca.token.caCertPem).publicKey)).toBe(true);

    await ca.restartFront();
    const served = Buffer.from(await (await fetch(`${ca.url}?operation=GetCACert`)).arrayBuffer());
    expect(served.includes(newRa.raw)).toBe(true);
    expect(served.includes(oldRa.raw)).toBe(false);
    const subject = '/C=US/O=Example/OU=devices/CN=device-2.example.org';
    const client = newClient();
    const run = await client.run(ca.url, { challenge: ca.challenge(subject), subject: ['-cn', 'device-2.example.org', '-organization', 'Example', '-ou', 'devices', '-country', 'US'] });
    expect(run.status, run.output).toBe(0);
    expect(new X509Certificate(client.certificate()!).verify(new X509Certificate(ca.token.caCertPem).publicKey)).toBe(true);
  });
});
