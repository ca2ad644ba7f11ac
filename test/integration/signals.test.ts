/**
 * No process of the server can be entered or stopped by a signal. SIGUSR1 is
 * revoke-cert's nudge and `systemctl kill -s USR1 etoken-ca` sends it to every
 * process of the unit; to Node it means "open the inspector", and whoever
 * connects runs code in that process. Each guard is shown on its own, then
 * the real tree: each of SIGUSR1, SIGUSR2, SIGHUP and SIGPIPE to each
 * process, idle and under load, kills nothing, restarts nothing, opens no
 * listening socket, and issuance goes on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_GUARD_FLAGS } from '../../packages/ca-server/dist/launch/runtime-guard.js';
import { makeServerFixture, removeFixture, SERVER_BIN, startServer, type ServerFixture } from '../helpers/ca-server.js';
import { makeCsr } from '../helpers/fake-server.js';
import { descriptors, listeningSockets, processTree, stillRunning, type ProcessFacts } from '../helpers/processes.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { runClient } from '../helpers/spool-client.js';
import { STAGED_SERVER_PACKAGE } from '../helpers/staged-code.js';
import { myproxyRequest } from '../../packages/ca-client/src/testing/myproxy-request.js';

const SIGNALS = ['SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGPIPE'] as const;
const SIGNAL_GUARD = pathToFileURL(join(STAGED_SERVER_PACKAGE, 'dist/launch/signal-guard.js')).href;

let token: TestToken;
let fixture: ServerFixture;
let csrPem: string;

/** Listening sockets held by any process of the tree. */
function listeningIn(tree: readonly ProcessFacts[]): string[] {
  const listening = listeningSockets();
  return tree.flatMap((p) => {
    try {
      return [...descriptors(p.pid).values()].map((target) => /^socket:\[(\d+)\]$/.exec(target)?.[1]).filter((inode): inode is string => inode !== undefined && listening.has(inode));
    } catch {
      return [];
    }
  });
}

/** A node process running `code`, its stderr kept; resolves once it has printed "ready". */
async function nodeProcess(flags: readonly string[], code: string): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [...flags, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => s.includes('ready') && resolve());
    child.once('exit', () => reject(new Error(`exited before it was ready: ${stderr}`)));
  });
  return { child, stderr: () => stderr };
}

const KEEP_ALIVE = "process.stdout.write('ready\\n'); setInterval(() => {}, 1000);";

/** A signal to a process that may have just exited (start-up has short-lived ones: the token probe). */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

async function signalAll(tree: readonly ProcessFacts[], name: NodeJS.Signals): Promise<void> {
  for (const p of tree) signal(p.pid, name);
  await sleep(100);
}

const request = (): Buffer => myproxyRequest(csrPem, { username: '/O=Example/CN=Signalled' });

beforeAll(async () => {
  token = createTestToken({ label: `signals-${process.pid}`, keyType: 'ec-p256', owner: 'causer' });
  fixture = makeServerFixture(token);
  csrPem = (await makeCsr(fixture.dir, 'signals')).pem;
});

afterAll(() => {
  token?.cleanup();
  if (fixture) removeFixture(fixture);
});

describe('each guard on its own', () => {
  it('an unguarded node opens its inspector on SIGUSR1: what the tests below would see', async () => {
    const { child, stderr } = await nodeProcess(['--inspect-port=127.0.0.1:0'], KEEP_ALIVE);
    child.kill('SIGUSR1');
    await expect.poll(stderr, { timeout: 10_000 }).toMatch(/Debugger listening on ws:\/\/127\.0\.0\.1:/);
    expect(listeningIn(processTree(child.pid!))).toHaveLength(1);
    child.kill('SIGKILL');
  });

  it('the signal guard module keeps SIGUSR1 from the inspector, and SIGUSR2, SIGHUP and SIGPIPE from ending the process', async () => {
    // The inspector would listen on loopback if it started: only the module guards here.
    const { child, stderr } = await nodeProcess(['--inspect-port=127.0.0.1:0'], `await import(${JSON.stringify(SIGNAL_GUARD)}); ${KEEP_ALIVE}`);
    for (const signal of [...SIGNALS, ...SIGNALS]) child.kill(signal);
    await sleep(500);
    expect(child.exitCode).toBeNull();
    expect(stderr()).not.toMatch(/Debugger listening/);
    expect(listeningIn(processTree(child.pid!))).toEqual([]);
    child.kill('SIGKILL');
  });

  it('the runtime flag alone makes the inspector fail to listen on a SIGUSR1 that comes before any listener', async () => {
    const { child, stderr } = await nodeProcess(RUNTIME_GUARD_FLAGS, KEEP_ALIVE);
    child.kill('SIGUSR1');
    await expect.poll(stderr, { timeout: 10_000 }).toMatch(/Starting inspector on 192\.0\.2\.1:9229 failed/);
    expect(listeningIn(processTree(child.pid!))).toEqual([]);
    child.kill('SIGKILL');
  });
});

describe('every process of a running server', () => {
  it('opens no listening socket, from the instant of spawn through start-up', async () => {
    for (const delay of [0, 5, 10, 20, 30, 50, 80, 120]) {
      const child = spawn(SERVER_BIN, ['--config', fixture.configPath, '--pin-fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
      // Its exit event is listened for from the start: a process a signal ended keeps exitCode null (signalCode set).
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const pin = child.stdio[3] as Writable;
      pin.on('error', () => undefined);
      pin.end(`${token.pin}\n`);
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
      await sleep(delay);
      const seen: string[] = [];
      for (let round = 0; round < 60 && child.exitCode === null && child.signalCode === null; round++) {
        const tree = processTree(child.pid!);
        for (const p of tree) signal(p.pid, 'SIGUSR1');
        seen.push(...listeningIn(tree));
        await sleep(5);
      }
      child.kill('SIGTERM');
      await exited;
      expect(seen, `after ${delay} ms`).toEqual([]);
      expect(stderr).not.toMatch(/Debugger listening/);
    }
    // Eight start-ups, each watched through /proc: several minutes on a busy machine. A deadline, not a speed limit.
  }, 900_000);

  it('idle: each signal to each process kills nothing, restarts nothing, opens nothing, and issuance goes on', async () => {
    const server = await startServer(fixture, token.pin);
    try {
      const tree = processTree(server.child.pid!);
      expect(tree.length).toBeGreaterThanOrEqual(3);
      for (const p of tree) {
        for (const name of SIGNALS) {
          signal(p.pid, name);
          await sleep(50);
        }
      }
      await sleep(300);
      expect(tree.filter((p) => !stillRunning(p)).map((p) => p.command)).toEqual([]);
      expect(processTree(server.child.pid!).map((p) => p.pid).sort()).toEqual(tree.map((p) => p.pid).sort());
      expect(listeningIn(tree)).toEqual([]);
      const after = await runClient(request(), fixture.configPath);
      expect(after.code, after.stderr).toBe(0);
      expect(server.events('signer.exited')).toEqual([]);
      expect(server.events('worker.exited')).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('under load: all four signals to every process at once, as systemctl kill does, while requests flow; every request answered', async () => {
    const server = await startServer(fixture, token.pin);
    try {
      const tree = processTree(server.child.pid!);
      let signalling = true;
      const signaller = (async () => {
        while (signalling) for (const name of SIGNALS) await signalAll(tree, name);
      })();
      const streams = await Promise.all(Array.from({ length: 4 }, async () => {
        const codes: Array<number | null> = [];
        for (let i = 0; i < 10; i++) codes.push((await runClient(request(), fixture.configPath)).code);
        return codes;
      }));
      signalling = false;
      await signaller;
      expect(streams.flat()).toEqual(Array(40).fill(0));
      expect(tree.filter((p) => !stillRunning(p)).map((p) => p.command)).toEqual([]);
      expect(listeningIn(tree)).toEqual([]);
      expect(server.events('cert.withheld')).toEqual([]);
      expect(server.events('signer.exited')).toEqual([]);
      expect(server.events('worker.exited')).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
