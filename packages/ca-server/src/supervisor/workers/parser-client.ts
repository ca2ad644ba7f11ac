/**
 * The supervisor's handle on the request parser process: one request in,
 * one answer out, matched by request id. Every answer is validated; one
 * that breaks the protocol, names a request it was not given, or (as the
 * supervisor finds when it checks the fields) says something untrue gets
 * the parser killed and reported. It is restarted when it dies; requests in
 * flight then are refused as temporary failures (the client may retry).
 */
import type { Frame } from '@etoken-ca/protocol/frames';
import { readParseAnswer, encodeParseRequest, type ParseAnswer, type ParsedRequest } from '@etoken-ca/protocol/parser-messages';
import { encodeScepParseRequest, readScepParseAnswer, type ParsedScepMessage, type ScepParseAnswer } from '@etoken-ca/protocol/scep-parser-messages';
import type { ScepFailInfo } from '@etoken-ca/contract/core/scep/scep-spool';
import { ProtocolViolation } from '@etoken-ca/protocol/violation';
import type { AuditLog } from '../audit-log.js';
import { FramedWorker, type WorkerHandlers, type WorkerSpec } from './framed-worker.js';

export type ParseOutcome = { readonly ok: true; readonly fields: ParsedRequest } | { readonly ok: false; readonly reason: string; readonly exit: number };
/** `failInfo` null: the parser failed (died, restarted), not the request: the front end may try again. */
export type ScepParseOutcome = { readonly ok: true; readonly message: ParsedScepMessage } | { readonly ok: false; readonly reason: string; readonly failInfo: ScepFailInfo | null };

type ParserAnswer = ParseAnswer | ScepParseAnswer;

/** One request given to the parser: how its answer is taken, and what it gets when the parser dies. */
interface Pending {
  /** False for an answer of the other kind (a MyProxy answer to a SCEP request, or the reverse). */
  readonly take: (answer: ParserAnswer) => boolean;
  readonly fail: () => void;
}

const PARSER_FAILED = 'request parser failed; try again';

function readParserAnswer(frame: Frame): ParserAnswer {
  return frame.message.type === 'scep-parsed' || frame.message.type === 'scep-refused' ? readScepParseAnswer(frame) : readParseAnswer(frame);
}

export class ParserClient {
  private worker: FramedWorker<ParserAnswer> | null = null;
  private readonly pending = new Map<string, Pending>();
  /** Requests that arrived while no parser ran (their frames), sent when the next one starts. */
  private readonly unsent = new Map<string, Buffer[]>();
  private stopping = false;
  private restarts = 0;
  private readonly handlers: WorkerHandlers<ParserAnswer>;

  constructor(
    private readonly spec: WorkerSpec,
    private readonly log: AuditLog,
  ) {
    this.handlers = {
      read: readParserAnswer,
      onMessage: (m) => this.onAnswer(m),
      onDiagnostic: (line) => log.warn({ event: 'worker.diagnostic', worker: 'parser' }, line),
      onViolation: (v) => log.error({ event: 'worker.untrusted', worker: 'parser', req: v.id, reason: v.message }, `request parser killed: ${v.message}`),
      onExit: (code, signal) => this.onExit(code, signal),
    };
  }

  start(): void {
    const worker = new FramedWorker(this.spec, { maxLine: 64 * 1024, maxPayload: 0 }, this.handlers);
    this.worker = worker;
    for (const frame of this.unsent.values()) worker.send(frame);
    this.unsent.clear();
  }

  parse(id: string, bytes: Buffer): Promise<ParseOutcome> {
    return new Promise((resolve) => {
      const pending: Pending = {
        take: (answer) => {
          if (answer.type === 'parsed') resolve({ ok: true, fields: answer.fields });
          else if (answer.type === 'refused') resolve({ ok: false, reason: answer.reason, exit: 65 });
          else return false;
          return true;
        },
        fail: () => resolve({ ok: false, reason: PARSER_FAILED, exit: 75 }),
      };
      this.send(id, pending, encodeParseRequest({ type: 'parse', id, request: bytes }));
    });
  }

  /** An entry of the SCEP spool: the pkiMessage checked and its CSR read, or refused with a failInfo. */
  parseScep(id: string, bytes: Buffer): Promise<ScepParseOutcome> {
    return new Promise((resolve) => {
      const pending: Pending = {
        take: (answer) => {
          if (answer.type === 'scep-parsed') resolve({ ok: true, message: answer.message });
          else if (answer.type === 'scep-refused') resolve({ ok: false, reason: answer.reason, failInfo: answer.failInfo });
          else return false;
          return true;
        },
        fail: () => resolve({ ok: false, reason: PARSER_FAILED, failInfo: null }),
      };
      this.send(id, pending, encodeScepParseRequest({ type: 'parse-scep', id, request: bytes }));
    });
  }

  private send(id: string, pending: Pending, frame: Buffer[]): void {
    this.pending.set(id, pending);
    // While a dead parser waits for its restart, requests wait too: a message to a dead one would be lost.
    if (this.worker?.alive) this.worker.send(frame);
    else this.unsent.set(id, frame);
  }

  /** The parser's answer for `id` proved untrue: it is not trusted with anything more. */
  distrust(id: string, reason: string): void {
    this.worker?.distrust(new ProtocolViolation(`answer to request ${id}: ${reason}`, id), this.handlers);
  }

  stop(): void {
    this.stopping = true;
    this.worker?.end();
  }

  private onAnswer(answer: ParserAnswer): void {
    const pending = this.pending.get(answer.id);
    if (!pending || this.unsent.has(answer.id)) throw new ProtocolViolation(`answered request ${answer.id}, which it was not given`, answer.id);
    this.pending.delete(answer.id);
    // A parser that answers is healthy again: the next crash restarts it quickly, not after the longest backoff.
    this.restarts = 0;
    if (pending.take(answer)) return;
    pending.fail();
    throw new ProtocolViolation(`answered request ${answer.id} with an answer of the other front end's kind`, answer.id);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    for (const [id, pending] of this.pending) {
      if (this.unsent.has(id)) continue;
      pending.fail();
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
