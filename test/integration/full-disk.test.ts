/**
 * The operator's worst day: CA_DIR (with the CRLs and the revocation queue)
 * on a 16 MB tmpfs, filled while clients ask for certificates, then below
 * the free-space reserve during a revocation, then filled up during a
 * revocation and the checkpoints around it, then freed. What must hold:
 * every client either prints a certificate or is refused cleanly (exit 75,
 * "CA disk full"); every certificate any client printed is in index.txt,
 * `revoke-cert --list` and `openssl ca -status` once space is back and after
 * a restart, and can be revoked; no revocation is lost; no CRL number is
 * used twice; and the server never stops on its own.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecCsr, keys } from '../corpus/csr-builder.js';
import { request } from '../corpus/requests.js';
import { caProblems } from '../helpers/ca-invariants.js';
import { makeServerFixture, removeFixture, REVOKE_BIN, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { crlText, revokeCert } from '../helpers/revocation.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { runClient } from '../helpers/spool-client.js';

const MB = 1024 * 1024;
const RESERVE_MB = 3;

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;
let mounted = false;
let fillers = 0;
const printed = new Set<string>();
const revoked = new Set<string>();
const refusals: string[] = [];
const badOutcomes: string[] = [];

const freeBytes = (): number => {
  const s = statfsSync(fixture.caDir);
  return s.bavail * s.bsize;
};

/**
 * Fills CA_DIR's filesystem until no more than `leave` bytes are free (0: until the write fails), a
 * piece at a time, with `pauseMs` between pieces so that requests run while it fills.
 */
async function fill(leave: number, pauseMs = 0): Promise<void> {
  const path = join(fixture.caDir, `filler-${fillers++}`);
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(128 * 1024, 0x5a);
  try {
    for (;;) {
      const room = freeBytes() - leave;
      if (leave > 0 && room <= 0) break;
      writeSync(fd, chunk, 0, leave > 0 ? Math.min(chunk.length, room) : chunk.length);
      if (pauseMs > 0) await sleep(pauseMs);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

function freeSpace(): void {
  for (const name of readdirSync(fixture.caDir)) if (name.startsWith('filler-')) rmSync(join(fixture.caDir, name));
}

const csr = (): Buffer => ecCsr(keys().p256);

/** One client as MyProxy runs it; a printed certificate is remembered, anything but a clean refusal is a bad outcome. */
async function oneClient(cn: string): Promise<'issued' | 'refused'> {
  const result = await runClient(request(csr(), { username: `/O=Test/CN=${cn}`, proxyLifetime: '3600' }), fixture.configPath);
  if (result.code === 0) {
    const serial = execFileSync('openssl', ['x509', '-noout', '-serial'], { input: result.stdout, encoding: 'utf8' }).trim().replace('serial=', '');
    printed.add(serial);
    return 'issued';
  }
  if (result.code === 75 && /CA disk full|CA database/.test(result.stderr)) {
    refusals.push(result.stderr.trim());
    return 'refused';
  }
  badOutcomes.push(`${cn}: exit ${result.code ?? result.signal}: ${result.stderr.trim()}`);
  return 'refused';
}

/** `streams` clients at a time until `until` resolves. */
async function issueWhile(streams: number, until: Promise<void>, prefix: string): Promise<void> {
  let stop = false;
  void until.then(() => (stop = true));
  let n = 0;
  await Promise.all(
    Array.from({ length: streams }, async (_, s) => {
      while (!stop) await oneClient(`${prefix} ${s}-${n++}`);
    }),
  );
}

function opensslCaStatus(serial: string): string {
  const cnf = join(fixture.dir, 'openssl-ca.cnf');
  writeFileSync(cnf, `[ca]\ndefault_ca = etoken\n[etoken]\ndir = ${fixture.caDir}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/newcerts\nserial = $dir/serial\ncertificate = ${token.caCertPath}\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = optional\n`);
  return spawnSync('openssl', ['ca', '-config', cnf, '-status', serial], { encoding: 'utf8' }).stderr;
}

function listed(): Map<string, string> {
  const list = spawnSync(REVOKE_BIN, ['--config', fixture.configPath, '--list', '--json'], { encoding: 'utf8' });
  expect(list.status, list.stderr).toBe(0);
  return new Map((JSON.parse(list.stdout) as { serial: string; state: string }[]).map((r) => [r.serial, r.state]));
}

/** Everything a printed certificate must be, in every view of the database; revoked ones revoked. */
function expectEveryCertificateRecorded(when: string): void {
  const states = listed();
  const index = new Map(
    readFileSync(join(fixture.caDir, 'index.txt'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.split('\t')[3]!, line[0]!]),
  );
  for (const serial of printed) {
    const want = revoked.has(serial) ? 'R' : 'V';
    expect(index.get(serial), `${when}: ${serial} in index.txt`).toBe(want);
    expect(states.get(serial), `${when}: ${serial} in revoke-cert --list`).toBe(want === 'R' ? 'revoked' : 'valid');
  }
  for (const serial of [...printed].slice(0, 40)) expect(opensslCaStatus(serial), `${when}: openssl ca -status ${serial}`).toContain(`${serial}=${revoked.has(serial) ? 'Revoked' : 'Valid'}`);
  expect(caProblems(fixture.caDir, [...printed].filter((s) => !revoked.has(s))).problems, when).toEqual([]);
}

const crlDir = (): string => join(fixture.caDir, 'crl');
const crlNumberOf = (path: string): number => Number(/X509v3 CRL Number:\s*\n\s*(\d+)/.exec(crlText(path))?.[1]);

/** Waits until the server has written by itself what the full disk kept it from writing (index lines, newcerts/ files). */
async function caughtUp(): Promise<void> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const found = caProblems(fixture.caDir, [...printed].filter((s) => !revoked.has(s)));
    const behind = [...revoked].filter((serial) => found.snapshot.index.get(serial)?.status !== 'R');
    if ((found.problems.length === 0 && behind.length === 0) || Date.now() > deadline) return;
    await sleep(500);
  }
}

beforeAll(() => {
  token = createTestToken({ label: `full-disk-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  fixture = makeServerFixture(token, { CA_DISK_RESERVE_MB: String(RESERVE_MB), CHECKPOINT_INTERVAL: '1', JOURNAL_SEGMENT_KB: '512', CLIENT_TIMEOUT: '20', TOKEN_POLL_INTERVAL: '1' });
  mkdirSync(fixture.caDir, { mode: 0o755 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0755', 'etoken-ca-full-disk', fixture.caDir]);
  mounted = true;
  const text = readFileSync(fixture.configPath, 'utf8').replace(/^CRL_DIR=.*$/m, `CRL_DIR="${join(fixture.caDir, 'crl')}"`);
  writeFileSync(fixture.configPath, text);
});

afterAll(async () => {
  await server?.stop();
  if (mounted) execFileSync('umount', [fixture.caDir]);
  token?.cleanup();
  if (fixture) removeFixture(fixture);
});

describe.sequential('CA_DIR on a small tmpfs that fills up', () => {
  let pid = 0;

  it('refuses cleanly while the disk fills during issuance, and records every certificate it answers', async () => {
    server = await startServer(fixture, token.pin);
    pid = server.child.pid!;
    for (let i = 0; i < 4; i++) await oneClient(`Warm ${i}`);
    expect(printed.size).toBe(4);
    // Six clients at a time; after two seconds the disk fills under them, over a few seconds, to the last
    // byte, and stays full for a while.
    await issueWhile(
      6,
      (async () => {
        await sleep(2000);
        await fill(0, 10);
        await sleep(3000);
      })(),
      'Filling',
    );
    console.log(`full disk, filling: ${printed.size} printed, ${refusals.length} refused, ${badOutcomes.length} bad`);
    expect(badOutcomes).toEqual([]);
    expect(refusals.length).toBeGreaterThan(0);
    expect(server.events('db.disk-low').length).toBeGreaterThan(0);
    expect(server.exited).toBe(false);
  }, 300_000);

  it('below the reserve, refuses requests and still revokes and publishes CRLs', async () => {
    freeSpace();
    await fill((RESERVE_MB * MB) / 2);
    await sleep(1500);
    expect(await oneClient('Below reserve')).toBe('refused');
    const targets = [...printed].slice(0, 2);
    const run = await revokeCert(fixture, [...targets, '--reason', 'keyCompromise', '--timeout', '30']);
    expect(run.code, run.stderr).toBe(0);
    for (const serial of targets) revoked.add(serial);
    const text = crlText(join(crlDir(), 'crl.pem'));
    for (const serial of targets) expect(text).toContain(`Serial Number: ${serial}`);
    expect(badOutcomes).toEqual([]);
    expect(server.exited).toBe(false);
  }, 120_000);

  it('loses no revocation and reuses no CRL number when the disk fills during one, nor when checkpoints meet it', async () => {
    const target = [...printed].filter((s) => !revoked.has(s))[0]!;
    const before = server.events('crl.issued').length;
    const failures = (): number => server.events('revocation.failed').length + server.events('db.checkpoint-failed').length + server.events('db.write-failed').length;
    const failedBefore = failures();
    // Room for the queue entry and the revocation's records, not for the checkpoint's rewrite of index.txt: the
    // revocation meets the full disk however soon the server takes it up.
    await fill(8 * 1024);
    expect(statSync(join(fixture.caDir, 'index.txt')).size).toBeGreaterThan(16 * 1024);
    const queued = await revokeCert(fixture, [target, '--no-wait']);
    expect(queued.code, queued.stderr).toBe(0);
    await fill(0);
    revoked.add(target);
    await sleep(3000);
    const failedMeanwhile = failures() - failedBefore;
    // Space comes back: the revocation goes through by itself (the queue is rescanned every 10 s).
    freeSpace();
    await server.waitFor('crl.issued', before + 1, 40_000);
    const deadline = Date.now() + 30_000;
    const pending = (): string[] => readdirSync(join(fixture.caDir, 'revoke-queue')).filter((n) => n.endsWith('.json'));
    while (pending().length > 0 && Date.now() < deadline) await sleep(200);
    expect(pending()).toEqual([]);
    expect(crlText(join(crlDir(), 'crl.pem'))).toContain(`Serial Number: ${target}`);
    expect(failedMeanwhile, 'the revocation or a checkpoint met the full disk').toBeGreaterThan(0);
    expect(server.exited).toBe(false);
  }, 120_000);

  it('takes requests again by itself once space is back, with every printed certificate in every view', async () => {
    await server.waitFor('db.disk-ok', 1, 30_000);
    for (let i = 0; i < 5; i++) expect(await oneClient(`Space back ${i}`)).toBe('issued');
    await caughtUp();
    expect(badOutcomes).toEqual([]);
    expectEveryCertificateRecorded('after space returned');
    // CRL numbers: each used once, in order.
    const numbers = readdirSync(crlDir())
      .filter((n) => /^crl-\d+\.pem$/.test(n))
      .map((n) => crlNumberOf(join(crlDir(), n)))
      .sort((a, b) => a - b);
    expect(new Set(numbers).size).toBe(numbers.length);
    const issued = server.events('crl.issued').map((e) => e.number as number);
    expect([...issued].sort((a, b) => a - b)).toEqual(issued);
    expect(new Set(issued).size).toBe(issued.length);
    expect(server.child.pid).toBe(pid);
    expect(server.exited).toBe(false);
  }, 120_000);

  it('after a restart: every printed certificate recorded, and every one can be revoked', async () => {
    expect(await server.stop()).toBe(0);
    server = await startServer(fixture, token.pin);
    expectEveryCertificateRecorded('after a restart');
    const rest = [...printed].filter((s) => !revoked.has(s));
    const run = await revokeCert(fixture, [...rest, '--timeout', '60']);
    expect(run.code, run.stderr).toBe(0);
    for (const serial of rest) revoked.add(serial);
    expectEveryCertificateRecorded('after revoking all');
    console.log(`full disk: ${printed.size} certificates printed, ${refusals.length} clean refusals, all recorded and revoked`);
  }, 180_000);
});
