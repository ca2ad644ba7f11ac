/**
 * SIGUSR1 is revoke-cert's nudge, and Node's "open the debugger" signal. At
 * no moment of the server's life, from the instant it is spawned, may it
 * open a debugger port: nothing may ever listen on 9229. The server is run
 * as its unit runs it, by executing the bin (its #! line counts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeServerFixture, removeFixture, RunningServer, SERVER_BIN, type ServerFixture } from '../helpers/ca-server.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';

let token: TestToken;
let fixture: ServerFixture;

/** Any socket listening on port 9229 (0x240D), IPv4 or IPv6. */
function debuggerListening(): boolean {
  const tables = readFileSync('/proc/net/tcp', 'utf8') + readFileSync('/proc/net/tcp6', 'utf8');
  return tables.split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1]?.endsWith(':240D') === true && fields[3] === '0A';
  });
}

function spawnBin(): ChildProcess {
  const child = spawn(SERVER_BIN, ['--config', fixture.configPath, '--pin-fd', '3'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` },
  });
  const pin = child.stdio[3] as Writable;
  pin.on('error', () => undefined);
  pin.end(`${token.pin}\n`);
  return child;
}

/** Watches /proc/net for `ms`, sending SIGUSR1 meanwhile; true if 9229 was ever seen listening. */
async function watchWhileSignalling(child: ChildProcess, ms: number, every: number): Promise<boolean> {
  let seen = false;
  const end = Date.now() + ms;
  let next = Date.now();
  while (Date.now() < end) {
    if (Date.now() >= next && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGUSR1');
      next = Date.now() + every;
    }
    seen ||= debuggerListening();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return seen;
}

beforeAll(() => {
  token = createTestToken({ label: `usr1-${process.pid}`, keyType: 'ec-p256', owner: 'causer' });
  fixture = makeServerFixture(token);
});

afterAll(() => {
  token?.cleanup();
  if (fixture) removeFixture(fixture);
});

describe('SIGUSR1 never opens a debugger', () => {
  it('from the instant of spawn through start-up', async () => {
    expect(debuggerListening()).toBe(false);
    for (const delay of [0, 2, 5, 10, 15, 20, 25, 30, 40, 50, 70, 100]) {
      const child = spawnBin();
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
      await new Promise((resolve) => setTimeout(resolve, delay));
      const seen = await watchWhileSignalling(child, 400, 5);
      // 'exit', not 'close': the server's workers may hold its pipes a moment longer.
      const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      expect(seen, `after ${delay} ms`).toBe(false);
      expect(stderr).not.toMatch(/Debugger listening/);
    }
  });

  it('while running and serving', async () => {
    const server = new RunningServer(fixture, spawnBin());
    try {
      await server.waitFor('pin.accepted');
      expect(await watchWhileSignalling(server.child, 1500, 2)).toBe(false);
      expect(server.exited).toBe(false);
      expect(server.stderr.join('')).not.toMatch(/Debugger listening/);
    } finally {
      await server.stop();
    }
  });
});
