/**
 * A worker of the server (parser, signer) started the way the supervisor
 * starts it, through the product's own spawnNode (child-entry.js: signal
 * guard, stray descriptors closed, privileges dropped for good), with the
 * supervisor's side of its pipes: frames in, frames out, diagnostics on
 * stderr. Needs the dist build.
 */
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { FrameDecoder, type Frame } from '@etoken-ca/protocol/frames';
import { spawnNode } from '../../packages/ca-server/dist/launch/spawn-node.js';
import type { SystemUser } from './users.js';

export const DIST = resolve(import.meta.dirname, '../../packages/ca-server/dist');

export class WorkerProcess {
  readonly child: ChildProcess;
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly frames: Frame[] = [];
  private waiting: ((frame: Frame | null) => void) | undefined;
  private ended = false;

  constructor(program: 'parser' | 'signer', args: readonly string[], user: SystemUser, extraPipes = 0) {
    const extra = Array.from({ length: extraPipes }, () => 'pipe' as const);
    this.child = spawnNode({ script: resolve(DIST, program, 'main.js'), args, account: user, stdio: ['pipe', 'pipe', 'pipe', ...extra] });
    this.child.stdin!.on('error', () => undefined);
    const decoder = new FrameDecoder({ maxLine: 1 << 20, maxPayload: 64 << 20 });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) this.deliver(frame);
    });
    this.child.stdout!.on('end', () => {
      this.ended = true;
      this.deliver(null);
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((done) => this.child.on('exit', (code, signal) => done({ code, signal })));
  }

  /** The next frame, or null once stdout is closed. */
  next(): Promise<Frame | null> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(null);
    return new Promise((done) => (this.waiting = done));
  }

  /** Every frame until stdout is closed. */
  async rest(): Promise<Frame[]> {
    const all: Frame[] = [];
    for (let frame = await this.next(); frame; frame = await this.next()) all.push(frame);
    return all;
  }

  send(chunks: readonly Buffer[]): void {
    for (const chunk of chunks) this.child.stdin!.write(chunk);
  }

  pipe(n: number): NodeJS.WritableStream {
    return this.child.stdio[n] as NodeJS.WritableStream;
  }

  async stop(): Promise<number | null> {
    this.child.stdin!.end();
    return (await this.exited).code;
  }

  private deliver(frame: Frame | null): void {
    const waiter = this.waiting;
    this.waiting = undefined;
    if (waiter) waiter(frame);
    else if (frame) this.frames.push(frame);
  }
}
