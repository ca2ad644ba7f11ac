/**
 * Crash injection on the revocation path: revoke-cert and the server are
 * killed with SIGKILL at every fault point between queueing a revocation and
 * publishing the CRL that lists it. After each kill and a restart, the
 * queued revocation must not be lost: the certificate ends revoked in
 * index.txt and in the latest published CRL, every published CRL verifies
 * against the CA, and the queue empties. CRL numbers are never reused and
 * only grow: every CRL published in the whole run (collected after each kill,
 * before the restart, and after each round; CRL_DIR keeps every copy) has a
 * number of its own, reserved once in the journal with the CRL's thisUpdate.
 * One token, one CA directory.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultPoint } from '@etoken-ca/contract/io/fault-point';
import { caProblems } from '../helpers/ca-invariants.js';
import { CrlHistory } from '../helpers/crl-history.js';
import { startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { armFault, beginCrashTest, disarmFaults, endCrashTest, type CrashTestParts } from '../helpers/faults.js';
import { crlText, issueThroughClient, revokeCert } from '../helpers/revocation.js';
import type { TestToken } from '../helpers/softhsm.js';

const SERVER_POINTS: readonly FaultPoint[] = [
  'server.after-revoke-recorded',
  'server.after-crl-number',
  'server.after-crl-signed',
  'server.after-crl-written',
  'server.after-crl-published',
];
const ROUNDS = 3;

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;
let crash: CrashTestParts | undefined;
let kills = 0;
let history: CrlHistory;

const crlDir = (): string => join(fixture.dir, 'crl');
const queueDir = (): string => join(fixture.caDir, 'revoke-queue');

function publishedNumbers(): number[] {
  return readdirSync(crlDir())
    .map((n) => /^crl-(\d+)\.pem$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

function pendingQueue(): string[] {
  return readdirSync(queueDir()).filter((n) => n.endsWith('.json'));
}

async function waitUntil(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}; server log: ${JSON.stringify(server.logs.slice(-6))}`);
    await sleep(100);
  }
}

/** The CRL the latest link names lists the serial, and every numbered CRL verifies against the CA. */
function checkCrls(serial: string, numbersBefore: readonly number[]): void {
  const numbers = publishedNumbers();
  expect(Math.max(...numbers)).toBeGreaterThan(Math.max(0, ...numbersBefore));
  expect(readlinkSync(join(crlDir(), 'crl.pem'))).toBe(`crl-${Math.max(...numbers)}.pem`);
  const latest = crlText(join(crlDir(), 'crl.pem'));
  expect(latest).toContain(`Serial Number: ${serial}`);
  for (const n of numbers) {
    const verified = execFileSync('openssl', ['crl', '-in', join(crlDir(), `crl-${n}.pem`), '-noout', '-CAfile', token.caCertPath], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(verified).toBe('');
  }
}

async function restartServer(): Promise<void> {
  if (!server.exited) await server.stop();
  server = await startServer(fixture, token.pin);
}

async function killRound(point: FaultPoint, round: number): Promise<void> {
  const cert = await issueThroughClient(fixture, `Revocation Crash ${point} ${round}`);
  history.collect(`before ${point} ${round}`);
  const numbersBefore = publishedNumbers();
  armFault(fixture, point);
  const run = await revokeCert(fixture, [cert.serial, '--reason', 'keyCompromise', '--no-wait']);
  if (point === 'revoke-cert.after-queued') {
    // revoke-cert died after queueing and before signalling: the server's own queue watch must pick it up.
    expect(run.code).toBeNull();
    disarmFaults(fixture);
  } else {
    await waitUntil(`the server dies at ${point}`, () => server.exited);
    expect(server.child.signalCode, point).toBe('SIGKILL');
    disarmFaults(fixture);
    // What the killed server left published, before a restart could write over it.
    history.collect(`killed at ${point} ${round}`);
    await restartServer();
  }
  kills++;
  await waitUntil(`the queue empties after ${point}`, () => pendingQueue().length === 0);
  await waitUntil(`a CRL after ${point} lists ${cert.serial}`, () => crlText(join(crlDir(), 'crl.pem')).includes(cert.serial));
  checkCrls(cert.serial, numbersBefore);
  history.collect(`after ${point} ${round}`);
  expect(history.problems(fixture.caDir), point).toEqual([]);
  // Every certificate here is revoked on purpose: none is expected to be valid.
  const { problems, snapshot } = caProblems(fixture.caDir, []);
  expect(problems, point).toEqual([]);
  expect(snapshot.index.get(cert.serial)?.status, point).toBe('R');
}

beforeAll(async () => {
  // Every numbered copy kept: a CRL pruned before it was seen could hide a reused number.
  crash = beginCrashTest('crashrev', { CRL_KEEP: '100000' });
  ({ token, fixture } = crash);
  history = new CrlHistory(crlDir());
  server = await startServer(fixture, token.pin);
});

afterAll(async () => {
  await endCrashTest(crash ?? {}, server);
  console.log(`revocation crash test: ${kills} kills`);
});

describe.sequential('kill -9 on the revocation path, restart, nothing queued is lost', () => {
  it('revoke-cert dies after queueing, before signalling', async () => {
    for (let round = 0; round < ROUNDS; round++) await killRound('revoke-cert.after-queued', round);
  }, 120_000);

  it.each(SERVER_POINTS)('the server dies at %s', async (point) => {
    for (let round = 0; round < ROUNDS; round++) await killRound(point, round);
  }, 180_000);
});
