/**
 * A worker process speaking frames (protocol/frames.ts), started through
 * spawnNode under its own account. Frames from its stdout are read by the
 * worker's validator; its stderr is diagnostics, passed on one line at a
 * time. A worker whose output breaks the framing or fails validation is
 * killed at once and reported: it is no longer trusted with anything.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { FrameDecoder, type Frame, type FrameLimits } from '@etoken-ca/protocol/frames';
import { ProtocolViolation } from '@etoken-ca/protocol/violation';
import type { Account } from '../../launch/account.js';
import { spawnNode } from '../../launch/spawn-node.js';

export interface WorkerSpec {
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
  readonly account: Account;
  /** Extra pipes after stdin/stdout/stderr (the signer's PIN pipe is fd 3). */
  readonly extraPipes?: number;
}

export interface WorkerHandlers<M> {
  /** Turns a frame into a message, or throws ProtocolViolation. */
  readonly read: (frame: Frame) => M;
  readonly onMessage: (message: M) => void;
  readonly onDiagnostic: (line: string) => void;
  /** The worker broke the protocol and has been killed. */
  readonly onViolation: (violation: ProtocolViolation) => void;
  /** The worker exited and everything it wrote on stdout has been read. */
  readonly onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

const MAX_DIAGNOSTIC_LINE = 4096;

/** stderr, a line at a time; an over-long line is cut, not buffered. */
function diagnosticLines(stream: Readable, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line !== '') onLine(line.slice(0, MAX_DIAGNOSTIC_LINE));
    }
    if (buffered.length > MAX_DIAGNOSTIC_LINE) {
      onLine(buffered.slice(0, MAX_DIAGNOSTIC_LINE));
      buffered = '';
    }
  });
}

export class FramedWorker<M> {
  readonly child: ChildProcess;
  private exited = false;
  private trusted = true;

  constructor(spec: WorkerSpec, limits: FrameLimits, handlers: WorkerHandlers<M>) {
    const extra = Array.from({ length: spec.extraPipes ?? 0 }, () => 'pipe' as const);
    this.child = spawnNode({ script: spec.script, args: spec.args, account: spec.account, stdio: ['pipe', 'pipe', 'pipe', ...extra] });
    this.child.stdin!.on('error', () => undefined);
    const decoder = new FrameDecoder(limits);
    this.child.stdout!.on('data', (chunk: Buffer) => {
      if (!this.trusted) return;
      try {
        for (const frame of decoder.push(chunk)) {
          const message = handlers.read(frame);
          if (this.trusted) handlers.onMessage(message);
        }
      } catch (e) {
        this.distrust(e instanceof ProtocolViolation ? e : new ProtocolViolation(`${spec.name}: ${(e as Error).message}`), handlers);
      }
    });
    diagnosticLines(this.child.stderr!, handlers.onDiagnostic);
    // 'exit' may come before the last frames are read: what a worker wrote before it died still counts.
    let status: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let outputClosed = false;
    const ended = (): void => {
      if (status && outputClosed) handlers.onExit(status.code, status.signal);
    };
    this.child.stdout!.on('close', () => {
      outputClosed = true;
      ended();
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      status = { code, signal };
      ended();
    });
    this.child.on('error', (e) => handlers.onDiagnostic(`${spec.name}: ${e.message}`));
  }

  /** Running and still trusted: a worker caught lying is dead to its client from that moment, before its exit is seen. */
  get alive(): boolean {
    return !this.exited && this.trusted;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(chunks: readonly Buffer[]): void {
    if (!this.alive) return;
    for (const chunk of chunks) this.child.stdin!.write(chunk);
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

  /** Called by a client that caught the worker in a lie the frames alone do not show. */
  distrust(violation: ProtocolViolation, handlers: Pick<WorkerHandlers<M>, 'onViolation'>): void {
    if (!this.trusted) return;
    this.trusted = false;
    this.kill();
    handlers.onViolation(violation);
  }
}
