/**
 * Revocation against the real server on SoftHSM: certificates issued through
 * the real client, revoked with revoke-cert, CRLs checked with openssl;
 * CRL numbering across restarts and crashes, a token that is away, a SIGUSR1
 * storm, a stale pid file. Needs the build (npm run build) and root.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { crlNumbersIn, crlText, issueThroughClient, revokeCert, verifiesWithCrl, type IssuedCert } from '../helpers/revocation.js';
import { createTestToken, openssl, type TestToken } from '../helpers/softhsm.js';

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;
const certs: IssuedCert[] = [];

const crlDir = (): string => join(fixture.dir, 'crl');
const latestCrl = (): string => join(crlDir(), 'crl.pem');
const queueDir = (): string => join(fixture.caDir, 'revoke-queue');
const pending = (): string[] => readdirSync(queueDir()).filter((n) => n.endsWith('.json'));
const numberOf = (crl: string): number => Number(/X509v3 CRL Number:\s*\n\s*(\d+)/.exec(crlText(crl))?.[1]);

function opensslCaStatus(serial: string): string {
  const cnf = join(fixture.dir, 'openssl-ca.cnf');
  writeFileSync(cnf, `[ca]\ndefault_ca = etoken\n[etoken]\ndir = ${fixture.caDir}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/newcerts\nserial = $dir/serial\ncertificate = ${token.caCertPath}\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = optional\n`);
  return spawnSync('openssl', ['ca', '-config', cnf, '-status', serial], { encoding: 'utf8' }).stderr;
}

beforeAll(async () => {
  token = createTestToken({ label: `revoke-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  fixture = makeServerFixture(token, { CRL_FORMATS: 'pem,der', TOKEN_POLL_INTERVAL: '1' });
  server = await startServer(fixture, token.pin);
  for (let i = 0; i < 8; i++) certs.push(await issueThroughClient(fixture, `Revocation User ${i}`));
});

afterAll(async () => {
  await server?.stop();
  token?.cleanup();
  if (fixture) removeFixture(fixture);
});

describe('revocation and CRLs', () => {
  it('publishes a CRL at start-up when none exists', async () => {
    await server.waitFor('crl.issued');
    expect(readlinkSync(latestCrl())).toMatch(/^crl-\d+\.pem$/);
    expect(crlText(join(crlDir(), 'crl.der'), 'DER')).toContain('No Revoked Certificates');
  });

  it('revokes with reasons; openssl sees them and rejects only the revoked certificates', async () => {
    const [a, b, c] = certs as [IssuedCert, IssuedCert, IssuedCert];
    const first = await revokeCert(fixture, [a.serial, '--reason', 'keyCompromise']);
    expect(first.code, first.stderr).toBe(0);
    const second = await revokeCert(fixture, [b.file, c.serial.toLowerCase(), '--reason', 'superseded']);
    expect(second.code, second.stderr).toBe(0);
    const [n1] = crlNumbersIn(first.stdout);
    const [n2, n3] = crlNumbersIn(second.stdout);
    expect(n2).toBe(n3);
    expect(n2!).toBeGreaterThan(n1!);
    expect(numberOf(latestCrl())).toBe(n2);

    const text = crlText(latestCrl());
    expect(text).toMatch(new RegExp(`Serial Number: ${a.serial}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`));
    expect(text).toMatch(new RegExp(`Serial Number: ${c.serial}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Superseded`));
    expect(text).toMatch(/Authority Key Identifier/);
    for (const cert of [a, b, c]) expect(verifiesWithCrl(token.caCertPath, latestCrl(), cert.file)).toBe(false);
    expect(verifiesWithCrl(token.caCertPath, latestCrl(), certs[3]!.file)).toBe(true);
    for (const name of readdirSync(crlDir()).filter((n) => /^crl-\d+\.pem$/.test(n))) {
      expect(openssl(['crl', '-in', join(crlDir(), name), '-CAfile', token.caCertPath, '-noout']) + 'ok').toBe('ok');
    }
    expect(opensslCaStatus(a.serial)).toContain(`${a.serial}=Revoked (R)`);
    expect(opensslCaStatus(certs[3]!.serial)).toContain(`${certs[3]!.serial}=Valid (V)`);
    expect(readFileSync(join(fixture.caDir, 'index.txt'), 'utf8')).toMatch(new RegExp(`^R\\t\\d+Z\\t\\d+Z,keyCompromise\\t${a.serial}\\t`, 'm'));
    const revoked = server.events('cert.revoked').find((e) => e.serial === a.serial);
    expect(revoked).toMatchObject({ reason: 'keyCompromise', subject: '/DC=org/DC=example/O=Test/CN=Revocation User 0', by: expect.any(String) });
    expect(pending()).toEqual([]);
  });

  it('refuses unknown, revoked and foreign certificates, queueing nothing', async () => {
    const foreign = join(fixture.dir, 'foreign.pem');
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(fixture.dir, 'foreign.key'), '-out', foreign, '-days', '1', '-subj', '/CN=Foreign']);
    for (const args of [['0123456789ABCDEF'], [certs[0]!.serial], [foreign], [certs[4]!.serial, 'zz-not-hex']]) {
      const r = await revokeCert(fixture, args);
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toMatch(/not in the CA database|already revoked|not issued by this CA|not a serial/);
    }
    expect(pending()).toEqual([]);
    expect((await revokeCert(fixture, [certs[4]!.serial, '--reason', 'bogus'])).code).toBe(64);
  });

  it('lists states, not before and reasons', async () => {
    const r = await revokeCert(fixture, ['--list', '--json']);
    const rows = JSON.parse(r.stdout) as Array<Record<string, string | null>>;
    const a = rows.find((row) => row.serial === certs[0]!.serial);
    expect(a).toMatchObject({ state: 'revoked', reason: 'keyCompromise', notBefore: expect.stringMatching(/^\d{4}-/) });
    expect(rows.find((row) => row.serial === certs[3]!.serial)).toMatchObject({ state: 'valid', reason: null });
    expect((await revokeCert(fixture, ['--list', '--state', 'revoked'])).stdout).toMatch(/NOT BEFORE/);
  });

  it('a SIGUSR1 storm while signing loses nothing and signs few CRLs', async () => {
    const before = server.events('crl.issued').length;
    const targets = certs.slice(4, 6);
    const run = revokeCert(fixture, [...targets.map((c) => c.serial), '--reason', 'affiliationChanged']);
    await server.waitFor('cert.revoked', server.events('cert.revoked').length + 1);
    for (let i = 0; i < 200; i++) server.child.kill('SIGUSR1');
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(server.exited).toBe(false);
    expect(server.events('crl.issued').length - before).toBeLessThanOrEqual(2);
    const text = crlText(latestCrl());
    for (const c of targets) expect(text).toContain(`Serial Number: ${c.serial}`);
    expect(pending()).toEqual([]);
  });

  it('never signals a process named by a stale pid file; the entry waits for the server', async () => {
    const last = numberOf(latestCrl());
    await server.stop();
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    writeFileSync(join(fixture.dir, 'etoken-ca.pid'), `${sleeper.pid}\n`);
    const r = await revokeCert(fixture, [certs[6]!.serial]);
    expect(r.code, r.stderr).toBe(69);
    expect(r.stderr).toMatch(/not running.*stay queued/);
    expect(sleeper.exitCode).toBeNull();
    expect(spawnSync('kill', ['-0', String(sleeper.pid)]).status).toBe(0);
    expect(pending()).toHaveLength(1);
    sleeper.kill();

    server = await startServer(fixture, token.pin);
    await server.waitFor('crl.issued');
    expect(numberOf(latestCrl())).toBeGreaterThan(last);
    expect(crlText(latestCrl())).toContain(`Serial Number: ${certs[6]!.serial}`);
    expect(pending()).toEqual([]);
  });

  it('never reuses a CRL number reserved before a crash', async () => {
    const last = numberOf(latestCrl());
    await server.stop('SIGKILL');
    // The state a kill -9 leaves after the crl-number record is durable and before publication.
    const journal = join(fixture.caDir, 'journal');
    const segment = readdirSync(journal).filter((n) => n.endsWith('.jnl')).sort().pop()!;
    appendFileSync(join(journal, segment), `${JSON.stringify({ t: 'crl-number', number: last + 1, thisUpdate: Date.now(), at: Date.now() })}\n`);
    server = await startServer(fixture, token.pin);
    // Force a CRL: a revocation.
    const r = await revokeCert(fixture, [certs[7]!.serial, '--reason', 'cessationOfOperation']);
    expect(r.code, r.stderr).toBe(0);
    expect(crlNumbersIn(r.stdout)[0]).toBeGreaterThanOrEqual(last + 2);
    expect(numberOf(latestCrl())).toBeGreaterThanOrEqual(last + 2);
  });

  it('keeps a revocation queued while the token is away and lists it once it is back', async () => {
    const extra = await issueThroughClient(fixture, 'Token Away');
    const link = readlinkSync(latestCrl());
    token.remove();
    try {
      await server.waitFor('token.removed', 1, 15_000);
      const r = await revokeCert(fixture, [extra.serial, '--timeout', '3']);
      expect(r.code, r.stderr).toBe(75);
      expect(pending()).toHaveLength(1);
      expect(readlinkSync(latestCrl())).toBe(link);
    } finally {
      token.restore();
    }
    // The PIN came over --pin-fd, which cannot be read again: a restart stands for typing it at the console.
    await server.stop();
    server = await startServer(fixture, token.pin);
    await server.waitFor('crl.issued');
    const deadline = Date.now() + 20_000;
    while (pending().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(pending()).toEqual([]);
    expect(crlText(latestCrl())).toContain(`Serial Number: ${extra.serial}`);
    expect(verifiesWithCrl(token.caCertPath, latestCrl(), extra.file)).toBe(false);
    expect(existsSync(join(crlDir(), `crl-${numberOf(latestCrl())}.der`))).toBe(true);
  });
});
