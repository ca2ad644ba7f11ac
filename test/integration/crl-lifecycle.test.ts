/**
 * The CRL's life in a running server, as the README promises it: the
 * post-CRL hook (its account and arguments), CRL_KEEP, CRL_DROP_EXPIRED,
 * re-signing when fewer than CRL_REISSUE_DAYS remain, crl.expiring and its
 * notification when the token cannot re-sign, and done/ entries kept a day.
 * Where days must pass, the server's clock is moved (server-clock.ts:
 * libfaketime in the supervisor only); the test waits on the server's own
 * records, never a fixed time. Each test has its own CA directory and server.
 */
import { chownSync, existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeServerFixture, removeFixture, startServer, type AuditRecord, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { crlNumbersIn, issueThroughClient, revokeCert, type IssuedCert } from '../helpers/revocation.js';
import { DAY_MS, fakeTimeLibrary, serverClock, type ServerClock } from '../helpers/server-clock.js';
import { createTestToken, openssl, type TestToken } from '../helpers/softhsm.js';
import { systemUser } from '../helpers/users.js';
import { pollUntil } from '../helpers/wait-until.js';
import { crlEntries, crlNumber } from '../helpers/withheld-crl.js';

const HOUR_MS = 3600_000;
const hookUser = systemUser('nobody');

let token: TestToken;
let fixture: ServerFixture | undefined;
let server: RunningServer | undefined;

interface Ca {
  readonly fixture: ServerFixture;
  readonly server: RunningServer;
  readonly clock: ServerClock;
  readonly crlDir: string;
}

/** A fresh CA directory and server (its clock movable), after its start-up CRL. */
async function startCa(settings: Record<string, string> = {}): Promise<Ca> {
  fixture = makeServerFixture(token, { TOKEN_POLL_INTERVAL: '1', HOOK_USER: 'nobody', ...settings });
  const clock = serverClock(fixture.dir);
  server = await startServer(fixture, token.pin, true, undefined, clock.env);
  await server.waitFor('crl.issued');
  return { fixture, server, clock, crlDir: join(fixture.dir, 'crl') };
}

/** A file the hook user may append to. */
function hookOutput(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, '', { mode: 0o644 });
  chownSync(path, hookUser.uid, hookUser.gid);
  return path;
}

async function issue(ca: Ca, count: number, name: string): Promise<IssuedCert[]> {
  const certs: IssuedCert[] = [];
  for (let i = 0; i < count; i++) certs.push(await issueThroughClient(ca.fixture, `${name} ${i}`));
  return certs;
}

/**
 * Makes sure the server has looked at its revocation queue and CRL at its
 * current clock, and finished. A nudge (SIGUSR1) starts a drain, which logs
 * revocation.check stamped with the server's clock; a nudge during a drain
 * only asks for one more, so a second revocation.check appears only once the
 * first drain is over. The stamps tell records made before the clock last
 * moved (hours or days back) from those after.
 */
async function drainSettled(ca: Ca): Promise<void> {
  const movedAt = ca.clock.now() - 60_000;
  const afterMove = (): AuditRecord[] => ca.server.events('revocation.check').filter((r) => Date.parse(String(r.time)) >= movedAt);
  const deadline = Date.now() + 90_000;
  while (afterMove().length < 2) {
    if (Date.now() > deadline) throw new Error(`no two revocation drains within 90 s of the clock move; log: ${JSON.stringify(ca.server.logs.slice(-6))}`);
    ca.server.child.kill('SIGUSR1');
    await ca.server.waitFor('revocation.check', 1, 500, () => afterMove().length >= 2).catch(() => undefined);
  }
}

const crlTimes = (path: string): { thisUpdate: number; nextUpdate: number } => {
  const text = openssl(['crl', '-in', path, '-noout', '-lastupdate', '-nextupdate']);
  const at = (key: string): number => Date.parse(new RegExp(`${key}=(.+)`).exec(text)![1]!);
  return { thisUpdate: at('lastUpdate'), nextUpdate: at('nextUpdate') };
};

const numberedCopies = (ca: Ca): string[] => readdirSync(ca.crlDir).filter((n) => /^crl-\d+\.(pem|der)$/.test(n)).sort();

beforeAll(() => {
  token = createTestToken({ label: `crl-life-${process.pid}`, keyType: 'rsa', owner: 'causer' });
});

afterAll(() => token?.cleanup());

afterEach(async () => {
  await server?.stop();
  if (fixture) removeFixture(fixture);
  server = undefined;
  fixture = undefined;
});

describe('a running server and its CRLs', () => {
  it('runs POST_CRL_COMMAND as HOOK_USER with the CRL number and its published file', async () => {
    fixture = makeServerFixture(token, { HOOK_USER: 'nobody' });
    const out = hookOutput(fixture.dir, 'hook-calls');
    const hook = join(fixture.dir, 'post-crl.sh');
    // Proof of the account (id), the arguments, and that the hook can read the file it is given.
    writeFileSync(hook, `#!/bin/sh\necho "uid=$(id -u) gid=$(id -g) groups=$(id -G) argc=$# number=$1 file=$2 $(openssl crl -in "$2" -noout -crlnumber)" >> ${out}\n`, { mode: 0o755 });
    writeFileSync(fixture.configPath, `${readFileSync(fixture.configPath, 'utf8')}POST_CRL_COMMAND="${hook}"\n`);
    server = await startServer(fixture, token.pin);
    const [first] = await server.waitFor('hook.post-crl');
    const cert = await issueThroughClient(fixture, 'Hook User');
    const r = await revokeCert(fixture, [cert.serial]);
    expect(r.code, r.stderr).toBe(0);
    const [second] = crlNumbersIn(r.stdout);
    await server.waitFor('hook.post-crl', 2);

    const calls = readFileSync(out, 'utf8').trim().split('\n');
    const crlDir = join(fixture.dir, 'crl');
    expect(calls).toEqual(
      [Number(first!.crlNumber), second!].map(
        (n) => `uid=${hookUser.uid} gid=${hookUser.gid} groups=${hookUser.gid} argc=2 number=${n} file=${join(crlDir, `crl-${n}.pem`)} crlNumber=0x${n.toString(16).toUpperCase().padStart(2, '0')}`,
      ),
    );
    expect(server.events('hook.post-crl.failed')).toEqual([]);
  });

  it('keeps the numbered copies of the CRL_KEEP newest CRLs only; crl.pem and crl.der name the newest', async () => {
    const ca = await startCa({ CRL_KEEP: '3', CRL_FORMATS: 'pem,der' });
    const certs = await issue(ca, 4, 'Keep User');
    const numbers = [crlNumber(join(ca.crlDir, 'crl.pem'))];
    for (const cert of certs) {
      const r = await revokeCert(ca.fixture, [cert.serial]);
      expect(r.code, r.stderr).toBe(0);
      const [n] = crlNumbersIn(r.stdout);
      numbers.push(n!);
      const kept = numbers.slice(-3);
      await pollUntil(
        () => numberedCopies(ca).length === 2 * kept.length,
        30_000,
        () => `CRL_DIR holds ${numberedCopies(ca).join(' ')} after CRL ${n}`,
      );
      expect(numberedCopies(ca)).toEqual(kept.flatMap((k) => [`crl-${k}.der`, `crl-${k}.pem`]).sort());
      expect(readlinkSync(join(ca.crlDir, 'crl.pem'))).toBe(`crl-${n}.pem`);
      expect(readlinkSync(join(ca.crlDir, 'crl.der'))).toBe(`crl-${n}.der`);
      expect(crlNumber(join(ca.crlDir, 'crl.pem'))).toBe(n);
    }
    expect(numbers).toEqual([numbers[0], numbers[0]! + 1, numbers[0]! + 2, numbers[0]! + 3, numbers[0]! + 4]);
    const pruned = ca.server.events('crl.pruned').flatMap((e) => e.numbers as number[]);
    expect(pruned.sort((a, b) => a - b)).toEqual(numbers.slice(0, 2));
  });

  it.skipIf(!fakeTimeLibrary()).each([
    ['yes', false],
    ['no', true],
  ])('with CRL_DROP_EXPIRED=%s, a revoked certificate that has expired is listed in the next CRL: %s', async (drop, stays) => {
    const ca = await startCa({ CRL_DROP_EXPIRED: drop });
    const expiring = await issueThroughClient(ca.fixture, 'Expiring User', 3600);
    const later = await issueThroughClient(ca.fixture, 'Lasting User', 86_400);
    const first = await revokeCert(ca.fixture, [expiring.serial]);
    expect(first.code, first.stderr).toBe(0);
    expect(crlEntries(join(ca.crlDir, 'crl.pem')).has(expiring.serial)).toBe(true);

    ca.clock.setOffset(2 * HOUR_MS);
    const second = await revokeCert(ca.fixture, [later.serial]);
    expect(second.code, second.stderr).toBe(0);
    const [n] = crlNumbersIn(second.stdout);
    const entries = crlEntries(join(ca.crlDir, `crl-${n}.pem`));
    expect(entries.has(later.serial)).toBe(true);
    expect(entries.has(expiring.serial)).toBe(stays);
    // The database keeps it revoked either way.
    expect(readFileSync(join(ca.fixture.caDir, 'index.txt'), 'utf8')).toMatch(new RegExp(`^R\\t\\d+Z\\t\\d+Z\\t${expiring.serial}\\t`, 'm'));
  });

  it.skipIf(!fakeTimeLibrary())('re-signs the CRL on its own once fewer than CRL_REISSUE_DAYS remain, not before', async () => {
    const ca = await startCa({ CRL_DAYS: '30', CRL_REISSUE_DAYS: '7' });
    const first = crlNumber(join(ca.crlDir, 'crl.pem'));
    const { nextUpdate } = crlTimes(join(ca.crlDir, 'crl.pem'));

    // Seven days and an hour left: not due.
    ca.clock.setOffset(nextUpdate - Date.now() - 7 * DAY_MS - HOUR_MS);
    await drainSettled(ca);
    expect(ca.server.events('crl.issued')).toHaveLength(1);
    expect(crlNumber(join(ca.crlDir, 'crl.pem'))).toBe(first);

    // Six days and 23 hours left: the rescan timer re-signs it, no nudge needed.
    ca.clock.setOffset(nextUpdate - Date.now() - 7 * DAY_MS + HOUR_MS);
    const reissued = (await ca.server.waitFor('crl.issued', 2, 90_000))[1]!;
    expect(reissued.number).toBe(first + 1);
    const latest = join(ca.crlDir, 'crl.pem');
    expect(crlNumber(latest)).toBe(first + 1);
    const times = crlTimes(latest);
    expect(Math.abs(times.thisUpdate - ca.clock.now())).toBeLessThan(5 * 60_000);
    expect(times.nextUpdate - times.thisUpdate).toBe(30 * DAY_MS);
    expect(openssl(['crl', '-in', latest, '-CAfile', token.caCertPath, '-noout']) + 'ok').toBe('ok');
  });

  it.skipIf(!fakeTimeLibrary())('tells the operator (crl.expiring, NOTIFY_COMMAND) when the CRL nears nextUpdate and the token is away', async () => {
    fixture = makeServerFixture(token, { TOKEN_POLL_INTERVAL: '1', CRL_DAYS: '30', CRL_REISSUE_DAYS: '7' });
    const out = hookOutput(fixture.dir, 'notified');
    const notify = join(fixture.dir, 'notify.sh');
    writeFileSync(notify, `#!/bin/sh\necho "$ETOKEN_CA_EVENT|$ETOKEN_CA_MESSAGE" >> ${out}\n`, { mode: 0o755 });
    writeFileSync(fixture.configPath, `${readFileSync(fixture.configPath, 'utf8')}NOTIFY_COMMAND="${notify}"\n`);
    const clock = serverClock(fixture.dir);
    server = await startServer(fixture, token.pin, true, undefined, clock.env);
    const ca: Ca = { fixture, server, clock, crlDir: join(fixture.dir, 'crl') };
    const [published] = await server.waitFor('crl.issued');
    const link = readlinkSync(join(ca.crlDir, 'crl.pem'));
    const { nextUpdate } = crlTimes(join(ca.crlDir, 'crl.pem'));

    token.remove();
    try {
      await server.waitFor('token.removed', 1, 30_000);
      expect(server.events('crl.expiring')).toEqual([]);
      clock.setOffset(nextUpdate - Date.now() - 7 * DAY_MS + HOUR_MS);
      // The rescan timer finds the CRL due and no token to sign it.
      const [expiring] = await server.waitFor('crl.expiring', 1, 90_000);
      expect(expiring).toMatchObject({ number: published!.number, nextUpdate: new Date(nextUpdate).toISOString() });
      const told = (): string[] => readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('crl.expiring|'));
      await pollUntil(() => told().length > 0, 30_000, () => `NOTIFY_COMMAND was not run for crl.expiring: ${readFileSync(out, 'utf8')}`);
      expect(told()[0]).toMatch(/^crl\.expiring\|The published CRL \d+ expires at .* and cannot be re-signed: the CA token is not usable\.$/);
      expect(readlinkSync(join(ca.crlDir, 'crl.pem'))).toBe(link);
      expect(server.events('crl.issued')).toHaveLength(1);
    } finally {
      token.restore();
    }
  });

  it.skipIf(!fakeTimeLibrary())('keeps done/ entries of the revocation queue for a day, then removes them', async () => {
    const ca = await startCa();
    const done = join(ca.fixture.caDir, 'revoke-queue', 'done');
    const doneEntries = (): string[] => readdirSync(done).filter((n) => n.endsWith('.json')).sort();
    const [a, b, c] = (await issue(ca, 3, 'Done User')) as [IssuedCert, IssuedCert, IssuedCert];
    const revoke = async (cert: IssuedCert): Promise<string[]> => {
      const before = new Set(doneEntries());
      const r = await revokeCert(ca.fixture, [cert.serial]);
      expect(r.code, r.stderr).toBe(0);
      return doneEntries().filter((n) => !before.has(n));
    };
    const first = await revoke(a);
    expect(first).toHaveLength(1);

    // 23 hours later: a drain prunes (the last prune is more than an hour old) and keeps the entry.
    ca.clock.setOffset(23 * HOUR_MS);
    const second = await revoke(b);
    await drainSettled(ca);
    expect(doneEntries()).toEqual([...first, ...second].sort());
    expect(ca.server.events('revocation.pruned')).toEqual([]);

    // 25 hours after the first: both older than a day, removed; the newest stays.
    ca.clock.setOffset(25 * HOUR_MS + 10 * 60_000);
    const third = await revoke(c);
    await drainSettled(ca);
    await ca.server.waitFor('revocation.pruned');
    expect(doneEntries()).toEqual(third);
    expect(ca.server.events('revocation.pruned').reduce((sum, e) => sum + Number(e.removed), 0)).toBe(2);
    expect(existsSync(join(done, first[0]!))).toBe(false);
  });
});
