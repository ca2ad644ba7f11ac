/**
 * The supervisor's handle on the request parser process: one request in,
 * one answer out, matched by request id. Every answer is validated; one
 * that breaks the protocol, names a request it was not given, or (as the
 * supervisor finds when it checks the fields) says something untrue gets
 * the parser killed and reported. It is restarted when it dies; requests in
 * flight then are refused as temporary failures (the client may retry).
 */
import { readParseAnswer, encodeParseRequest, type ParseAnswer, type ParsedRequest } from '@etoken-ca/protocol/parser-messages';
import { ProtocolViolation } from '@etoken-ca/protocol/violation';
import type { AuditLog } from '../audit-log.js';
import { FramedWorker, type WorkerHandlers, type WorkerSpec } from './framed-worker.js';

export type ParseOutcome = { readonly ok: true; readonly fields: ParsedRequest } | { readonly ok: false; readonly reason: string; readonly exit: number };

const PARSER_FAILED = 'request parser failed; try again';

export class ParserClient {
  private worker: FramedWorker<ParseAnswer> | null = null;
  private readonly pending = new Map<string, (outcome: ParseOutcome) => void>();
  /** Requests that arrived while no parser ran, sent when the next one starts. */
  private readonly unsent = new Map<string, Buffer>();
  private stopping = false;
  private restarts = 0;
  private readonly handlers: WorkerHandlers<ParseAnswer>;

  constructor(
    private readonly spec: WorkerSpec,
    private readonly log: AuditLog,
  ) {
    this.handlers = {
      read: readParseAnswer,
      onMessage: (m) => this.onAnswer(m),
      onDiagnostic: (line) => log.warn({ event: 'worker.diagnostic', worker: 'parser' }, line),
      onViolation: (v) => log.error({ event: 'worker.untrusted', worker: 'parser', req: v.id, reason: v.message }, `request parser killed: ${v.message}`),
      onExit: (code, signal) => this.onExit(code, signal),
    };
  }

  start(): void {
    const worker = new FramedWorker(this.spec, { maxLine: 64 * 1024, maxPayload: 0 }, this.handlers);
    this.worker = worker;
    for (const [id, bytes] of this.unsent) worker.send(encodeParseRequest({ type: 'parse', id, request: bytes }));
    this.unsent.clear();
  }

  parse(id: string, bytes: Buffer): Promise<ParseOutcome> {
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      // While a dead parser waits for its restart, requests wait too: a message to a dead one would be lost.
      if (this.worker?.alive) this.worker.send(encodeParseRequest({ type: 'parse', id, request: bytes }));
      else this.unsent.set(id, bytes);
    });
  }

  /** The parser's answer for `id` proved untrue: it is not trusted with anything more. */
  distrust(id: string, reason: string): void {
    this.worker?.distrust(new ProtocolViolation(`answer to request ${id}: ${reason}`, id), this.handlers);
  }

  stop(): void {
    this.stopping = true;
    this.worker?.end();
  }

  private onAnswer(answer: ParseAnswer): void {
    const resolve = this.pending.get(answer.id);
    if (!resolve || this.unsent.has(answer.id)) throw new ProtocolViolation(`answered request ${answer.id}, which it was not given`, answer.id);
    this.pending.delete(answer.id);
    // A parser that answers is healthy again: the next crash restarts it quickly, not after the longest backoff.
    this.restarts = 0;
    if (answer.type === 'parsed') resolve({ ok: true, fields: answer.fields });
    else resolve({ ok: false, reason: answer.reason, exit: 65 });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    for (const [id, resolve] of this.pending) {
      if (this.unsent.has(id)) continue;
      resolve({ ok: false, reason: PARSER_FAILED, exit: 75 });
      this.pending.delete(id);
    }
    if (this.stopping) return;
    this.log.error({ event: 'worker.exited', worker: 'parser', code, signal }, 'request parser exited; restarting it');
    const delay = Math.min(5000, 100 * 2 ** Math.min(this.restarts++, 6));
    setTimeout(() => {
      if (!this.stopping) this.start();
    }, delay).unref();
  }
}
