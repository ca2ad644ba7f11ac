/**
 * A worker process speaking JSON lines: started with spawn under its own
 * uid/gid, an empty environment, cwd / and explicit stdio (spawn also drops
 * the supplementary groups). Lines from its stdout are messages; its stderr
 * is diagnostics, passed on one line at a time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Account } from '../proc.js';

export interface WorkerSpec {
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
  readonly account: Account;
  /** Extra pipes after stdin/stdout/stderr (the signer's PIN pipe is fd 3). */
  readonly extraPipes?: number;
}

export interface WorkerHandlers {
  readonly onMessage: (message: unknown) => void;
  readonly onDiagnostic: (line: string) => void;
  readonly onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

const MAX_LINE = 8 * 1024 * 1024;

function splitLines(stream: Readable, onLine: (line: string) => void, onOverflow: () => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line !== '') onLine(line);
    }
    if (buffered.length > MAX_LINE) {
      buffered = '';
      onOverflow();
    }
  });
}

export class LineWorker {
  readonly child: ChildProcess;
  private exited = false;

  constructor(spec: WorkerSpec, handlers: WorkerHandlers) {
    const extra = Array.from({ length: spec.extraPipes ?? 0 }, () => 'pipe' as const);
    this.child = spawn(process.execPath, [spec.script, ...spec.args], {
      uid: spec.account.uid,
      gid: spec.account.gid,
      env: {},
      cwd: '/',
      stdio: ['pipe', 'pipe', 'pipe', ...extra],
    });
    this.child.stdin!.on('error', () => undefined);
    splitLines(
      this.child.stdout!,
      (line) => {
        let message: unknown;
        try {
          message = JSON.parse(line);
        } catch {
          handlers.onDiagnostic(`${spec.name} wrote a line that is not JSON; stopping it`);
          this.kill();
          return;
        }
        handlers.onMessage(message);
      },
      () => {
        handlers.onDiagnostic(`${spec.name} wrote an over-long line; stopping it`);
        this.kill();
      },
    );
    splitLines(this.child.stderr!, handlers.onDiagnostic, () => undefined);
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      handlers.onExit(code, signal);
    });
    this.child.on('error', (e) => handlers.onDiagnostic(`${spec.name}: ${e.message}`));
  }

  get alive(): boolean {
    return !this.exited;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(message: object): void {
    if (!this.exited) this.child.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  /** A line announcing `bytes`, then the payload's own bytes (no base64, no copy into the line). */
  sendWithPayload(message: object, payload: Buffer): void {
    if (this.exited) return;
    this.child.stdin!.write(`${JSON.stringify({ ...message, bytes: payload.length })}\n`);
    this.child.stdin!.write(payload);
  }

  /** The extra pipe n (3 = the first extra), for the PIN. */
  pipe(n: number): Writable {
    return this.child.stdio[n] as Writable;
  }

  /** Closes stdin: the worker finishes what it has and exits. */
  end(): void {
    this.child.stdin!.end();
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
