/**
 * The supervisor's handle on the request parser process: one request in,
 * one result out, matched by request id. Restarted when it dies; requests in
 * flight then are refused as temporary failures (the client may retry).
 */
import type { ParseResult, ParsedRequest } from '../ipc.js';
import { LineWorker, type WorkerSpec } from './line-worker.js';

export type ParseOutcome = { readonly ok: true; readonly fields: ParsedRequest } | { readonly ok: false; readonly reason: string; readonly exit: number };

export class ParserClient {
  private worker: LineWorker | null = null;
  private readonly pending = new Map<string, (outcome: ParseOutcome) => void>();
  /** Requests that arrived while no parser ran, sent when the next one starts. */
  private readonly unsent = new Map<string, string>();
  private stopping = false;
  private restarts = 0;

  constructor(
    private readonly spec: WorkerSpec,
    private readonly log: { warn: (obj: object, msg: string) => void; error: (obj: object, msg: string) => void },
  ) {}

  start(): void {
    const worker = new LineWorker(this.spec, {
      onMessage: (m) => this.onMessage(m as ParseResult),
      onDiagnostic: (line) => this.log.warn({ worker: 'parser' }, line),
      onExit: (code, signal) => this.onExit(code, signal),
    });
    this.worker = worker;
    for (const [id, data] of this.unsent) worker.send({ type: 'parse', id, data });
    this.unsent.clear();
  }

  parse(id: string, bytes: Buffer): Promise<ParseOutcome> {
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      const data = bytes.toString('base64');
      // While a dead parser waits for its restart, requests wait too: a message to a dead one would be lost.
      if (this.worker?.alive) this.worker.send({ type: 'parse', id, data });
      else this.unsent.set(id, data);
    });
  }

  stop(): void {
    this.stopping = true;
    this.worker?.end();
  }

  private onMessage(m: ParseResult): void {
    const resolve = this.pending.get(m?.id);
    if (!resolve) {
      this.log.error({ worker: 'parser' }, 'parser answered a request it was not given; restarting it');
      this.worker?.kill();
      return;
    }
    this.pending.delete(m.id);
    // A parser that answers is healthy again: the next crash restarts it quickly, not after the longest backoff.
    this.restarts = 0;
    if (m.type === 'parsed') resolve({ ok: true, fields: m.fields });
    else resolve({ ok: false, reason: String(m.reason), exit: 65 });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    for (const [id, resolve] of this.pending) {
      if (this.unsent.has(id)) continue;
      resolve({ ok: false, reason: 'request parser failed; try again', exit: 75 });
      this.pending.delete(id);
    }
    if (this.stopping) return;
    this.log.error({ worker: 'parser', code, signal }, 'request parser exited; restarting it');
    const delay = Math.min(5000, 100 * 2 ** Math.min(this.restarts++, 6));
    setTimeout(() => {
      if (!this.stopping) this.start();
    }, delay).unref();
  }
}
