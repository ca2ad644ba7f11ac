/**
 * Revocation against the real server on SoftHSM: certificates issued through
 * the real client, revoked with revoke-cert, CRLs checked with openssl;
 * CRL numbering across restarts and crashes, a token that is away, a SIGUSR1
 * storm, a stale pid file. Needs the build (npm run build) and root.
 *
 * Every test has its own CA directory and server and issues the certificates
 * it revokes: each stands alone, in any order.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatIndexLine } from '@etoken-ca/contract/core/cadb/index-line';
import { makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { armFault, disarmFaults } from '../helpers/faults.js';
import { crlNumbersIn, crlText, issueThroughClient, revokeCert, verifiesWithCrl, type IssuedCert } from '../helpers/revocation.js';
import { createTestToken, openssl, type TestToken } from '../helpers/softhsm.js';
import { pollUntil } from '../helpers/wait-until.js';

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;

const crlDir = (): string => join(fixture.dir, 'crl');
const latestCrl = (): string => join(crlDir(), 'crl.pem');
const queueDir = (): string => join(fixture.caDir, 'revoke-queue');
const pending = (): string[] => readdirSync(queueDir()).filter((n) => n.endsWith('.json'));
const numberOf = (crl: string): number => Number(/X509v3 CRL Number:\s*\n\s*(\d+)/.exec(crlText(crl))?.[1]);

async function issue(count: number, name: string): Promise<IssuedCert[]> {
  const certs: IssuedCert[] = [];
  for (let i = 0; i < count; i++) certs.push(await issueThroughClient(fixture, `${name} ${i}`));
  return certs;
}

/** Moved to done/ by the server right after it logs crl.issued: another process, so waited for. */
async function queueEmpties(): Promise<void> {
  await pollUntil(() => pending().length === 0, 30_000, () => `revocation queue still holds ${pending().join(' ')}`);
}

function opensslCaStatus(serial: string): string {
  const cnf = join(fixture.dir, 'openssl-ca.cnf');
  writeFileSync(cnf, `[ca]\ndefault_ca = etoken\n[etoken]\ndir = ${fixture.caDir}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/newcerts\nserial = $dir/serial\ncertificate = ${token.caCertPath}\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = optional\n`);
  return spawnSync('openssl', ['ca', '-config', cnf, '-status', serial], { encoding: 'utf8' }).stderr;
}

beforeAll(() => {
  token = createTestToken({ label: `revoke-${process.pid}`, keyType: 'rsa', owner: 'causer' });
});

afterAll(() => token?.cleanup());

beforeEach(async () => {
  fixture = makeServerFixture(token, { CRL_FORMATS: 'pem,der', TOKEN_POLL_INTERVAL: '1' });
  server = await startServer(fixture, token.pin);
});

afterEach(async () => {
  disarmFaults(fixture);
  await server?.stop();
  removeFixture(fixture);
});

describe('revocation and CRLs', () => {
  it('publishes a CRL at start-up when none exists', async () => {
    await server.waitFor('crl.issued');
    expect(readlinkSync(latestCrl())).toMatch(/^crl-\d+\.pem$/);
    expect(crlText(join(crlDir(), 'crl.der'), 'DER')).toContain('No Revoked Certificates');
  });

  it('revokes with reasons; openssl sees them and rejects only the revoked certificates', async () => {
    const [a, b, c, d] = (await issue(4, 'Revocation User')) as [IssuedCert, IssuedCert, IssuedCert, IssuedCert];
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
    expect(verifiesWithCrl(token.caCertPath, latestCrl(), d.file)).toBe(true);
    for (const name of readdirSync(crlDir()).filter((n) => /^crl-\d+\.pem$/.test(n))) {
      expect(openssl(['crl', '-in', join(crlDir(), name), '-CAfile', token.caCertPath, '-noout']) + 'ok').toBe('ok');
    }
    // revoke-cert returns once the CRL is published; index.txt is rewritten right after.
    const revokedLine = new RegExp(`^R\\t\\d+Z\\t\\d+Z,keyCompromise\\t${a.serial}\\t`, 'm');
    await pollUntil(() => revokedLine.test(readFileSync(join(fixture.caDir, 'index.txt'), 'utf8')), 30_000, () => `index.txt shows ${a.serial} revoked`);
    expect(opensslCaStatus(a.serial)).toContain(`${a.serial}=Revoked (R)`);
    expect(opensslCaStatus(d.serial)).toContain(`${d.serial}=Valid (V)`);
    const [revoked] = await server.waitFor('cert.revoked', 1, 30_000, (e) => e.serial === a.serial);
    expect(revoked).toMatchObject({ reason: 'keyCompromise', subject: '/DC=org/DC=example/O=Test/CN=Revocation User 0', by: expect.any(String) });
    await queueEmpties();
  });

  it('refuses unknown, revoked and foreign certificates, queueing nothing', async () => {
    const [revoked, valid] = (await issue(2, 'Refusal User')) as [IssuedCert, IssuedCert];
    const r0 = await revokeCert(fixture, [revoked.serial]);
    expect(r0.code, r0.stderr).toBe(0);
    await queueEmpties();
    const foreign = join(fixture.dir, 'foreign.pem');
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(fixture.dir, 'foreign.key'), '-out', foreign, '-days', '1', '-subj', '/CN=Foreign']);
    for (const args of [['0123456789ABCDEF'], [revoked.serial], [foreign], [valid.serial, 'zz-not-hex']]) {
      const r = await revokeCert(fixture, args);
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toMatch(/not in the CA database|already revoked|not issued by this CA|not a serial/);
    }
    expect(pending()).toEqual([]);
    expect((await revokeCert(fixture, [valid.serial, '--reason', 'bogus'])).code).toBe(64);
    expect(pending()).toEqual([]);
  });

  it('lists states, not before and reasons', async () => {
    const [revoked, valid] = (await issue(2, 'Listed User')) as [IssuedCert, IssuedCert];
    const done = await revokeCert(fixture, [revoked.serial, '--reason', 'keyCompromise']);
    expect(done.code, done.stderr).toBe(0);
    const r = await revokeCert(fixture, ['--list', '--json']);
    const rows = JSON.parse(r.stdout) as Array<Record<string, string | null>>;
    expect(rows.find((row) => row.serial === revoked.serial)).toMatchObject({ state: 'revoked', reason: 'keyCompromise', notBefore: expect.stringMatching(/^\d{4}-/) });
    expect(rows.find((row) => row.serial === valid.serial)).toMatchObject({ state: 'valid', reason: null });
    expect((await revokeCert(fixture, ['--list', '--state', 'revoked'])).stdout).toMatch(/NOT BEFORE/);
  });

  it('a SIGUSR1 storm while signing loses nothing and signs no extra CRL', async () => {
    const [x, y, marker] = (await issue(3, 'Storm User')) as [IssuedCert, IssuedCert, IssuedCert];
    const revokedBefore = server.events('cert.revoked').length;
    const run = revokeCert(fixture, [x.serial, y.serial, '--reason', 'affiliationChanged']);
    await server.waitFor('cert.revoked', revokedBefore + 1);
    for (let i = 0; i < 200; i++) server.child.kill('SIGUSR1');
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const numbers = crlNumbersIn(r.stdout);
    expect(numbers).toHaveLength(2);
    // One revoke-cert run: one CRL, or two when the server drained between its two entries.
    expect(new Set(numbers).size).toBeLessThanOrEqual(2);
    // Drains run one at a time: the marker's CRL comes after every CRL the storm could have caused.
    const m = await revokeCert(fixture, [marker.serial]);
    expect(m.code, m.stderr).toBe(0);
    expect(crlNumbersIn(m.stdout)).toEqual([Math.max(...numbers) + 1]);
    expect(server.exited).toBe(false);
    const text = crlText(latestCrl());
    for (const c of [x, y, marker]) expect(text).toContain(`Serial Number: ${c.serial}`);
    await queueEmpties();
  });

  it('never signals a process named by a stale pid file; the entry waits for the server', async () => {
    const [cert] = (await issue(1, 'Stale Pid User')) as [IssuedCert];
    await server.waitFor('crl.issued');
    const last = numberOf(latestCrl());
    await server.stop();
    const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      writeFileSync(join(fixture.dir, 'etoken-ca.pid'), `${sleeper.pid}\n`);
      const r = await revokeCert(fixture, [cert.serial]);
      expect(r.code, r.stderr).toBe(69);
      expect(r.stderr).toMatch(/not running.*stay queued/);
      expect(sleeper.exitCode).toBeNull();
      expect(spawnSync('kill', ['-0', String(sleeper.pid)]).status).toBe(0);
      expect(pending()).toHaveLength(1);
    } finally {
      sleeper.kill();
    }

    server = await startServer(fixture, token.pin);
    await server.waitFor('crl.issued');
    expect(numberOf(latestCrl())).toBeGreaterThan(last);
    expect(crlText(latestCrl())).toContain(`Serial Number: ${cert.serial}`);
    await queueEmpties();
  });

  it('never reuses a CRL number reserved before a crash', async () => {
    const [cert, later] = (await issue(2, 'Crash Number User')) as [IssuedCert, IssuedCert];
    await server.waitFor('crl.issued');
    const last = numberOf(latestCrl());
    // kill -9 right after the CRL number is durable, before anything is signed or published.
    armFault(fixture, 'server.after-crl-number');
    const r = await revokeCert(fixture, [cert.serial, '--no-wait']);
    expect(r.code, r.stderr).toBe(0);
    await pollUntil(() => server.exited, 30_000, () => 'the server did not die at server.after-crl-number');
    expect(server.child.signalCode).toBe('SIGKILL');
    disarmFaults(fixture);
    expect(existsSync(join(crlDir(), `crl-${last + 1}.pem`))).toBe(false);

    server = await startServer(fixture, token.pin);
    const [published] = await server.waitFor('crl.issued');
    expect(Number(published!.number)).toBeGreaterThanOrEqual(last + 2);
    const again = await revokeCert(fixture, [later.serial, '--reason', 'cessationOfOperation']);
    expect(again.code, again.stderr).toBe(0);
    expect(crlNumbersIn(again.stdout)[0]).toBeGreaterThan(Number(published!.number));
    expect(existsSync(join(crlDir(), `crl-${last + 1}.pem`))).toBe(false);
    expect(crlText(latestCrl())).toContain(`Serial Number: ${cert.serial}`);
  });

  it('keeps a revocation queued while the token is away and lists it once it is back', async () => {
    const [extra] = (await issue(1, 'Token Away')) as [IssuedCert];
    await server.waitFor('crl.issued');
    const link = readlinkSync(latestCrl());
    token.remove();
    try {
      await server.waitFor('token.removed', 1, 30_000);
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
    await queueEmpties();
    expect(crlText(latestCrl())).toContain(`Serial Number: ${extra.serial}`);
    expect(verifiesWithCrl(token.caCertPath, latestCrl(), extra.file)).toBe(false);
    expect(existsSync(join(crlDir(), `crl-${numberOf(latestCrl())}.der`))).toBe(true);
  });

  it('revokes an expired certificate that start-up left on disk; index.txt lists it once, revoked', async () => {
    await server.waitFor('crl.issued');
    await server.stop();
    // Fifty certificates that expired before this start, put at the front of index.txt as an older CA's would be.
    const serialOf = (n: number): string => `0E${n.toString(16).toUpperCase().padStart(30, '0')}`;
    const expired = Array.from({ length: 50 }, (_, n) =>
      formatIndexLine({ serial: serialOf(n), status: 'V', notAfter: Date.now() - (n + 1) * 86400_000, subject: `/DC=org/DC=example/O=Test/CN=Expired ${n}` }),
    ).join('');
    const index = join(fixture.caDir, 'index.txt');
    const checkpointPath = join(fixture.caDir, 'checkpoint.json');
    writeFileSync(index, expired + readFileSync(index, 'utf8'));
    const checkpoint = JSON.parse(readFileSync(checkpointPath, 'utf8')) as { indexBytes: number };
    writeFileSync(checkpointPath, JSON.stringify({ ...checkpoint, indexBytes: checkpoint.indexBytes + Buffer.byteLength(expired) }));

    server = await startServer(fixture, token.pin);
    expect(server.events('db.loaded')).toEqual([expect.objectContaining({ expiredOnDisk: 50 })]);
    const serial = serialOf(7);
    const r = await revokeCert(fixture, [serial, '--reason', 'keyCompromise']);
    expect(r.code, r.stderr).toBe(0);
    expect(crlText(latestCrl())).toMatch(new RegExp(`Serial Number: ${serial}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`));
    expect(server.events('db.cold-read')).toEqual([expect.objectContaining({ serial })]);
    await server.stop();

    const lines = readFileSync(index, 'utf8').split('\n');
    expect(lines.filter((line) => line.includes(`\t${serial}\t`))).toEqual([expect.stringMatching(/^R\t\d+Z\t\d+Z,keyCompromise\t/)]);
    expect(opensslCaStatus(serial)).toContain(`${serial}=Revoked (R)`);
    server = await startServer(fixture, token.pin);
    expect(server.events('db.loaded')).toEqual([expect.objectContaining({ expiredOnDisk: 49 })]);
    const listed = JSON.parse((await revokeCert(fixture, ['--list', '--json'])).stdout) as Array<Record<string, string | null>>;
    expect(listed.filter((row) => row.state === 'expired')).toHaveLength(49);
    expect(listed.find((row) => row.serial === serial)).toMatchObject({ state: 'revoked', reason: 'keyCompromise' });
  });
});
