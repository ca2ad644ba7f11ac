/**
 * Crash injection: every fault point of issuance, in every process (client,
 * server, parser, signer), kills its process with SIGKILL in the middle of a
 * real request; what died is restarted (the server with its PIN on
 * --pin-fd), and after each kill the CA directory must satisfy every
 * invariant of test/helpers/ca-invariants.ts, the client must have ended
 * with a certificate that is recorded as valid or a refusal (never a
 * certificate that is not in index.txt), a withheld serial must reach the
 * published CRL as cessationOfOperation and no client's output, and at the
 * end, after the sweeper's grace, nothing is left in the spool. Each process
 * role has its own token, CA directory and server: each test stands alone.
 */
import { X509Certificate } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FaultPoint } from '@etoken-ca/contract/io/fault-point';
import { myproxyRequest } from '../../packages/ca-client/src/testing/myproxy-request.js';
import { caProblems } from '../helpers/ca-invariants.js';
import { startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { armFault, beginCrashTest, disarmFaults, endCrashTest, type CrashTestParts } from '../helpers/faults.js';
import { makeCsr } from '../helpers/fake-server.js';
import type { TestToken } from '../helpers/softhsm.js';
import { startClient, type ClientResult } from '../helpers/spool-client.js';
import { pollUntil } from '../helpers/wait-until.js';
import { crlEntries, serialsIn } from '../helpers/withheld-crl.js';

type Role = 'client' | 'server' | 'parser' | 'signer';

/**
 * A client outlives the restart of what was killed; killed clients wait for nothing, and what they leave is swept
 * after CLIENT_TIMEOUT + 10 s: shorter for them.
 */
const CLIENT_TIMEOUT_S: Readonly<Record<Role, number>> = { client: 5, server: 15, parser: 15, signer: 15 };
/** The sweeper removes what dead clients left once CLIENT_TIMEOUT + 10 s have passed, checking every 2 s. */
const sweepGraceMs = (role: Role): number => (CLIENT_TIMEOUT_S[role] + 10) * 1000 + 4000;

/** What the client sees when its request meets the fault: a certificate, a refusal matching the pattern, or its own death. */
type Expected = 'certificate' | 'killed' | RegExp;

const WITHHELD = /withheld/;
const POINTS: Readonly<Record<Role, readonly (readonly [FaultPoint, Expected])[]>> = {
  client: [
    ['client.after-request-written', 'killed'],
    ['client.after-lock-published', 'killed'],
    ['client.while-waiting', 'killed'],
    ['client.after-answer-read', 'killed'],
  ],
  server: [
    ['server.after-received', 'certificate'],
    ['server.after-parse', 'certificate'],
    // Reserved and maybe signed: withheld at the restart, and that recorded outcome is the answer.
    ['server.after-reserve', WITHHELD],
    ['server.after-signer-returned', WITHHELD],
    // Recorded: the restarted server answers from the journal, without signing again.
    ['server.after-issue-appended', 'certificate'],
    ['server.after-flush', 'certificate'],
    ['server.after-answer-written', 'certificate'],
  ],
  parser: [
    ['parser.on-receipt', /request parser failed/],
    ['parser.before-reply', /request parser failed/],
  ],
  signer: [
    ['signer.on-receipt', WITHHELD],
    ['signer.after-sign', WITHHELD],
  ],
};
/** Server and signer kills cost a server start (about 3 s with its self-audit); client and parser kills are cheap. */
const ROUNDS: Readonly<Record<Role, number>> = { client: 30, server: 7, parser: 12, signer: 4 };

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;
let request: Buffer;
let crash: CrashTestParts | undefined;
const answered = new Set<string>();
const kills = new Map<FaultPoint, number>();
/** Everything clients printed, where a withheld serial must never appear. */
const printed: string[] = [];

function serverPids(name: 'parser' | 'signer'): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith(`/${name}/main.js`)) && argv.includes(fixture.configPath)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function restartServer(): Promise<void> {
  if (!server.exited) {
    const stopping = server.stop();
    const killer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
    await stopping;
    clearTimeout(killer);
  }
  server = await startServer(fixture, token.pin);
}

/** What a crash mid-write leaves: half a record at the end of the journal and half a line at the end of index.txt. */
function tearTails(): void {
  const journal = join(fixture.caDir, 'journal');
  const last = readdirSync(journal).filter((n) => n.endsWith('.jnl')).sort().at(-1)!;
  appendFileSync(join(journal, last), '{"t":"issue","req":"0123');
  appendFileSync(join(fixture.caDir, 'index.txt'), 'V\t3001010000');
}

function expectOutcome(point: string, expected: Expected, result: ClientResult): void {
  const what = `${point}: client ${result.code ?? result.signal} ${result.stderr.trim()}; server: ${JSON.stringify(server.logs.slice(-8))}`;
  if (expected === 'killed') {
    expect(result.signal, what).toBe('SIGKILL');
    return;
  }
  if (expected === 'certificate') {
    expect(result.code, what).toBe(0);
  } else {
    expect(result.code, what).not.toBe(0);
    expect(result.stderr, what).toMatch(expected);
  }
  printed.push(result.stdout);
  if (result.code === 0) answered.add(new X509Certificate(result.stdout).serialNumber.toUpperCase().replace(/^(00)+(?=.)/, ''));
}

/** Withheld serials of the journal missing from the published CRL (or listed with another reason), or printed by a client. */
function withheldNotPublished(): string[] {
  const { withheld } = caProblems(fixture.caDir, answered).snapshot;
  const latest = join(fixture.dir, 'crl', 'crl.pem');
  // Before the server's first CRL (it publishes one once the token is ready) nothing is listed yet: waited for.
  const listed = existsSync(latest) ? crlEntries(latest) : new Map<string, string>();
  const onStdout = new Set(printed.flatMap(serialsIn));
  return [...withheld].flatMap((serial) => {
    const reason = listed.get(serial);
    if (onStdout.has(serial)) return [`withheld serial ${serial} was printed by a client`];
    if (reason === undefined) return [`withheld serial ${serial} is not in ${latest}`];
    return reason === 'Cessation Of Operation' ? [] : [`withheld serial ${serial} is in ${latest} as ${reason}`];
  });
}

/** After a withhold: the server publishes a CRL listing it by itself (waited for), as cessationOfOperation. */
async function expectWithheldPublished(point: FaultPoint): Promise<void> {
  let problems: string[] = [];
  await pollUntil(
    () => (problems = withheldNotPublished()).every((p) => !/is not in/.test(p)),
    60_000,
    () => `after ${point}: ${problems.join('; ')}`,
  );
  expect(problems, `after ${point}`).toEqual([]);
}

/**
 * The journal and index.txt settle after the client's answer (the answer record and the index line follow it), and
 * a killed client's request may still be at the token: waited for, with a deadline for a stuck server rather than a
 * speed limit (two suites side by side took over a second here).
 */
async function expectInvariants(point: FaultPoint): Promise<void> {
  let problems: string[] = [];
  await pollUntil(
    () => (problems = caProblems(fixture.caDir, answered).problems).length === 0,
    30_000,
    () => `after a kill at ${point}: ${problems.join('; ')}`,
    200,
  );
}

/** The server restarts a dead parser by itself, after a short backoff. */
async function oneWorker(name: 'parser' | 'signer'): Promise<number[]> {
  const deadline = Date.now() + 10_000;
  let pids = serverPids(name);
  while (pids.length !== 1 && Date.now() < deadline) {
    await sleep(50);
    pids = serverPids(name);
  }
  return pids;
}

async function killRound(role: Role, point: FaultPoint, expected: Expected): Promise<void> {
  const workersBefore = role === 'parser' || role === 'signer' ? await oneWorker(role) : [];
  armFault(fixture, point);
  const client = startClient(request, fixture.configPath);
  if (role === 'server') {
    await new Promise<void>((resolve) => (server.exited ? resolve() : server.child.once('exit', () => resolve())));
    expect(server.child.signalCode, `server at ${point}`).toBe('SIGKILL');
    disarmFaults(fixture);
    tearTails();
    await restartServer();
  }
  const result = await client.done;
  disarmFaults(fixture);
  expectOutcome(point, expected, result);
  if (role === 'parser' || role === 'signer') {
    expect(workersBefore.length, `one ${role} before ${point}`).toBe(1);
    expect(alive(workersBefore[0]!), `${role} killed at ${point}`).toBe(false);
  }
  // The server restarts its parser and serves on; an answered request also resets the parser's restart backoff.
  if (role === 'parser') expectOutcome(`first request after ${point}`, 'certificate', await startClient(request, fixture.configPath).done);
  // A signer that died takes the PIN with it (a token failure wipes it); --pin-fd gives it only once.
  if (role === 'signer') await restartServer();
  kills.set(point, (kills.get(point) ?? 0) + 1);
  await expectInvariants(point);
  if (expected === WITHHELD) await expectWithheldPublished(point);
}

/** Every round of the role's points, then: every request ended (nothing left in the spool after the sweeper's grace), the invariants, the withheld serials published. */
async function runRole(role: Role): Promise<void> {
  for (let round = 0; round < ROUNDS[role]; round++) {
    for (const [point, expected] of POINTS[role]) await killRound(role, point, expected);
  }
  const total = [...kills.values()].reduce((a, b) => a + b, 0);
  expect(total).toBe(ROUNDS[role] * POINTS[role].length);
  const spool = (): string[] => ['incoming', 'answers'].flatMap((d) => readdirSync(join(fixture.spoolDir, d)).map((n) => `${d}/${n}`));
  await pollUntil(() => spool().length === 0, sweepGraceMs(role) + 10_000, () => `the spool still holds ${spool().join(' ')}`, 1000);
  expect(caProblems(fixture.caDir, answered).problems).toEqual([]);
  expect(withheldNotPublished()).toEqual([]);
}

it('kills at least 200 times in all', () => {
  const roles = Object.keys(ROUNDS) as Role[];
  expect(roles.reduce((sum, role) => sum + ROUNDS[role] * POINTS[role].length, 0)).toBeGreaterThanOrEqual(200);
});

describe('kill -9 at every fault point, restart, check the invariants', () => {
  beforeEach(async (context) => {
    crash = beginCrashTest('crash', { CLIENT_TIMEOUT: String(CLIENT_TIMEOUT_S[context.task.name as Role]) });
    ({ token, fixture } = crash);
    request = myproxyRequest((await makeCsr(fixture.dir, 'crash')).pem, { username: '/O=Example/CN=Crash Test' });
    server = await startServer(fixture, token.pin);
    answered.clear();
    kills.clear();
    printed.length = 0;
  });

  afterEach(async (context) => {
    await endCrashTest(crash ?? {}, server);
    crash = undefined;
    const total = [...kills.values()].reduce((a, b) => a + b, 0);
    console.log(`crash test, ${context.task.name}: ${total} kills, ${answered.size} certificates answered\n${[...kills].map(([p, n]) => `  ${p}: ${n}`).join('\n')}`);
  });

  it('client', () => runRole('client'), 300_000);
  it('parser', () => runRole('parser'), 300_000);
  it('signer', () => runRole('signer'), 300_000);
  it('server', () => runRole('server'), 600_000);
});
