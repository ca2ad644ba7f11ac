/**
 * A pseudo-terminal for tests, made by python3's pty.openpty() in a small
 * relay process: it prints the slave's path, then copies what programs
 * write on the terminal to its stdout and what the test types (its stdin)
 * to the terminal. It holds the slave open, so input typed before anyone
 * opens the terminal waits in the terminal's queue, as on a real console.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitUntil } from './wait-until.js';

const RELAY = `
import os, pty, select, sys
master, slave = pty.openpty()
os.write(1, (os.ttyname(slave) + "\\n").encode())
while True:
    ready, _, _ = select.select([master, 0], [], [])
    if master in ready:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        data = os.read(0, 4096)
        if not data:
            break
        os.write(master, data)
`;

export class TestPty {
  /** Everything written on the terminal so far (latin1). */
  output = '';
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly slavePath: string,
    private readonly relay: ChildProcess,
    rest: string,
  ) {
    this.output = rest;
    relay.stdout!.on('data', (chunk: string) => {
      this.output += chunk;
      for (const l of this.listeners) l();
    });
  }

  static open(): Promise<TestPty> {
    const relay = spawn('python3', ['-c', RELAY], { stdio: ['pipe', 'pipe', 'inherit'] });
    relay.stdout!.setEncoding('latin1');
    return new Promise((resolve, reject) => {
      let head = '';
      const onData = (chunk: string): void => {
        head += chunk;
        const nl = head.indexOf('\n');
        if (nl < 0) return;
        relay.stdout!.off('data', onData);
        resolve(new TestPty(head.slice(0, nl), relay, head.slice(nl + 1)));
      };
      relay.stdout!.on('data', onData);
      relay.once('exit', (code) => reject(new Error(`pty relay exited (${code}) before giving a terminal`)));
    });
  }

  /** Keys typed on the terminal. */
  type(text: string): void {
    this.relay.stdin!.write(Buffer.from(text, 'latin1'));
  }

  count(text: string): number {
    return this.output.split(text).length - 1;
  }

  /** Waits until `text` has appeared `times` times on the terminal. */
  waitFor(text: string, times = 1, timeoutMs = 30_000): Promise<void> {
    const subscribe = (listener: () => void): (() => void) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    };
    return waitUntil(subscribe, () => this.count(text) >= times, timeoutMs, () => `"${text}" not shown ${times}x; terminal: ${JSON.stringify(this.output.slice(-400))}`);
  }

  close(): Promise<void> {
    if (this.relay.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.relay.once('exit', () => resolve());
      this.relay.stdin!.end();
      this.relay.kill();
    });
  }
}
