/**
 * The real etoken-ca-server with its PIN typed on a test pseudo-terminal
 * (PIN_TTY, with ALLOW_NON_VT_PIN_TTY=yes) instead of --pin-fd.
 */
import { spawn } from 'node:child_process';
import { RunningServer, SERVER_BIN, type AuditRecord, type ServerFixture } from './ca-server.js';
import type { TestPty } from './pty.js';
import { waitUntil } from './wait-until.js';

export const PIN_PROMPT = 'Token PIN (not echoed): ';

/** Config keys for a server that asks for its PIN on this terminal. */
export function consoleKeys(pty: TestPty): Record<string, string> {
  return { PIN_TTY: pty.slavePath, ALLOW_NON_VT_PIN_TTY: 'yes', ALLOW_PIN_FD: 'no' };
}

export function spawnServer(fixture: ServerFixture, args: readonly string[] = []): RunningServer {
  const child = spawn(SERVER_BIN, ['--config', fixture.configPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  return new RunningServer(fixture, child);
}

/** Waits for prompt number `prompt` on the terminal, then types the PIN and Enter. */
export async function typePinAtPrompt(pty: TestPty, pin: string, prompt: number): Promise<void> {
  await pty.waitFor(PIN_PROMPT, prompt);
  pty.type(`${pin}\r`);
}

/** The exit status of a server that is expected to stop by itself. */
export function exitStatus(server: RunningServer): Promise<number | null> {
  if (server.child.exitCode !== null) return Promise.resolve(server.child.exitCode);
  return new Promise((resolve) => server.child.once('exit', (code) => resolve(code)));
}

/** Waits until `count` log records match (checked after each chunk of the server's stdout is parsed). */
export function waitForLog(server: RunningServer, matches: (record: AuditRecord) => boolean, count: number, timeoutMs = 30_000): Promise<void> {
  const stdout = server.child.stdout!;
  const subscribe = (listener: () => void): (() => void) => {
    stdout.on('data', listener);
    return () => stdout.off('data', listener);
  };
  return waitUntil(subscribe, () => server.logs.filter(matches).length >= count, timeoutMs, () => `fewer than ${count} matching log records; log: ${JSON.stringify(server.logs.slice(-10))}`);
}
