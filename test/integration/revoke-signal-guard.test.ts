/**
 * revoke-cert's guard before SIGUSR1, end to end: with the server stopped,
 * the pid file names a live process that is not the server (a pid reused by
 * now): a shell, another Node program, a Node program that calls itself
 * etoken-ca-server but started after the pid file was written, the same
 * under another account. Each records any SIGUSR1 it gets. None is
 * signalled, revoke-cert exits 69 saying the entry stays queued, and the
 * entries reach the next CRL once the real server runs. A control case (the
 * look-alike as root, started before the pid file) is signalled: the guard,
 * not chance, kept the others quiet.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { crlText, issueThroughClient, revokeCert, type IssuedCert } from '../helpers/revocation.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { systemUser } from '../helpers/users.js';
import { pollUntil } from '../helpers/wait-until.js';

/** Records each SIGUSR1 in argv[2]; says it is ready (its handler in place) by creating argv[3]. */
const RECORDER = `const fs = require('node:fs');
process.on('SIGUSR1', () => fs.appendFileSync(process.argv[2], 'SIGUSR1\\n'));
fs.writeFileSync(process.argv[3], '');
setInterval(() => undefined, 60_000);
`;

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer | undefined;
const certs: IssuedCert[] = [];
const running: ChildProcess[] = [];
let made = 0;

const pidFile = (): string => join(fixture.dir, 'etoken-ca.pid');
const pending = (): string[] => readdirSync(join(fixture.caDir, 'revoke-queue')).filter((n) => n.endsWith('.json'));

interface Recorder {
  readonly child: ChildProcess;
  readonly signals: () => string[];
}

type Kind = 'shell' | 'node' | 'look-alike';

/** A process that records the SIGUSR1s it gets, in a directory of its own (its account's), ready once its handler is in place. */
async function recorder(kind: Kind, account: 'root' | 'nobody'): Promise<Recorder> {
  const dir = join(fixture.dir, `recorder-${made++}`);
  const user = account === 'nobody' ? systemUser('nobody') : { uid: 0, gid: 0 };
  mkdirSync(dir, { mode: 0o755 });
  chownSync(dir, user.uid, user.gid);
  const log = join(dir, 'signals');
  const ready = join(dir, 'ready');
  const options = { uid: user.uid, gid: user.gid, cwd: dir, stdio: 'ignore' as const };
  let child: ChildProcess;
  if (kind === 'shell') {
    child = spawn('/bin/sh', ['-c', `trap 'echo SIGUSR1 >> signals' USR1; : > ready; while :; do sleep 1; done`], options);
  } else {
    // The look-alike has the server's script name: revoke-cert tells it apart by its account or its start time only.
    const script = join(dir, kind === 'look-alike' ? 'etoken-ca-server.js' : 'recorder.js');
    writeFileSync(script, RECORDER, { mode: 0o644 });
    child = spawn(process.execPath, [script, log, ready], options);
  }
  running.push(child);
  await pollUntil(() => existsSync(ready), 30_000, () => `the ${kind} recorder is not ready`);
  return { child, signals: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []) };
}

function writePidFile(pid: number, writtenAgoMs: number): void {
  writeFileSync(pidFile(), `${pid}\n`, { mode: 0o644 });
  const at = new Date(Date.now() - writtenAgoMs);
  utimesSync(pidFile(), at, at);
}

beforeAll(async () => {
  token = createTestToken({ label: `guard-${process.pid}`, keyType: 'ec-p256', owner: 'causer' });
  fixture = makeServerFixture(token);
  server = await startServer(fixture, token.pin);
  for (let i = 0; i < 6; i++) certs.push(await issueThroughClient(fixture, `Guard User ${i}`));
  await server.stop();
  server = undefined;
});

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await server?.stop();
  token?.cleanup();
  if (fixture) removeFixture(fixture);
});

describe('revoke-cert signals only the server its pid file names', () => {
  it.each<[string, Kind, 'root' | 'nobody', number, RegExp, number]>([
    ['a shell', 'shell', 'root', 0, /runs .*, not node/, 0],
    ['another Node program', 'node', 'root', 0, /is not etoken-ca-server/, 1],
    ['a Node program named etoken-ca-server, started after the pid file was written', 'look-alike', 'root', 10 * 60_000, /started after the pid file was written/, 2],
    ['a Node program named etoken-ca-server, run by another account', 'look-alike', 'nobody', 0, /does not run as root/, 3],
  ])('a live process that is not the server (%s): nothing signalled, the entry stays queued, exit 69', async (_, kind, account, writtenAgoMs, why, n) => {
    const target = await recorder(kind, account);
    writePidFile(target.child.pid!, writtenAgoMs);
    const queued = pending().length;
    const r = await revokeCert(fixture, [certs[n]!.serial, '--no-wait']);
    expect(r.code, r.stderr).toBe(69);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).toMatch(/not running .*: 1 revocation\(s\) stay queued/);
    expect(pending()).toHaveLength(queued + 1);
    expect(target.child.exitCode).toBeNull();
    expect(target.child.signalCode).toBeNull();
    expect(target.signals()).toEqual([]);
  });

  it('the same look-alike as root, started before the pid file was written, is signalled (the control)', async () => {
    const target = await recorder('look-alike', 'root');
    writePidFile(target.child.pid!, 0);
    const r = await revokeCert(fixture, [certs[4]!.serial, '--no-wait']);
    expect(r.code, r.stderr).toBe(0);
    await pollUntil(() => target.signals().length === 1, 30_000, () => 'the look-alike got no SIGUSR1');
  });

  it('the real server, once started, lists every entry that stayed queued', async () => {
    rmSync(pidFile(), { force: true });
    const r = await revokeCert(fixture, [certs[5]!.serial, '--no-wait']);
    expect(r.code, r.stderr).toBe(69);
    const queued = readdirSync(join(fixture.caDir, 'revoke-queue'))
      .filter((n) => n.endsWith('.json'))
      .map((n) => JSON.parse(readFileSync(join(fixture.caDir, 'revoke-queue', n), 'utf8')) as { serial: string });
    expect(queued.map((q) => q.serial)).toContain(certs[5]!.serial);
    server = await startServer(fixture, token.pin);
    await pollUntil(() => pending().length === 0, 60_000, () => `still queued: ${pending().join(' ')}`);
    const text = crlText(join(fixture.dir, 'crl', 'crl.pem'));
    for (const { serial } of queued) expect(text).toContain(`Serial Number: ${serial}`);
  });
});
