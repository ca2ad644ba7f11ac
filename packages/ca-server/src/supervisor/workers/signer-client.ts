/**
 * The supervisor's handle on the signer process (CA_USER, the only process
 * that loads the PKCS#11 module). Requests are answered in order, matched by
 * id. Every event is validated and must come in its turn: the token before
 * the PIN, ready or a refused login after it, one answer of the right kind
 * per request. A signer that breaks that is killed and reported; what it
 * had in flight may have been signed and is treated as such. A request the
 * signer does not answer within SIGNER_TIMEOUT means it is stuck in the
 * driver: it is killed too.
 */
import {
  encodeSignerRequest,
  MAX_CRL_TBS,
  readSignerEvent,
  type CheckRequest,
  type SignerEvent,
  type SignerRequest,
  type TokenInfo,
} from '@etoken-ca/protocol/signer-messages';
import { ProtocolViolation } from '@etoken-ca/protocol/violation';
import { FramedWorker, type WorkerHandlers, type WorkerSpec } from './framed-worker.js';

export type SignResult = Extract<SignerEvent, { type: 'cert' } | { type: 'crl' } | { type: 'error' } | { type: 'check' }>;

/** How a request ended when the signer gave no answer of its own. */
export type SignerLoss = 'exited' | 'stuck' | 'untrusted';

export type SignReply = { readonly answered: true; readonly result: SignResult } | { readonly answered: false; readonly loss: SignerLoss; readonly reason: string };

export interface SignerHooks {
  readonly onToken: (token: TokenInfo) => void;
  readonly onReady: () => void;
  readonly onLoginFailed: (reason: string, pinIncorrect: boolean, pinLocked: boolean) => void;
  readonly onFatal: (reason: string, tokenGone: boolean) => void;
  readonly onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
  readonly onDiagnostic: (line: string) => void;
  readonly onViolation: (violation: ProtocolViolation) => void;
}

const ANSWER_TYPE: Readonly<Record<SignerRequest['type'], SignResult['type']>> = { 'sign-cert': 'cert', 'sign-crl': 'crl', check: 'check' };

type Phase = 'token' | 'pin' | 'login' | 'ready';

export class SignerClient {
  private readonly worker: FramedWorker<SignerEvent>;
  private readonly handlers: WorkerHandlers<SignerEvent>;
  private readonly pending = new Map<string, { type: SignerRequest['type']; resolve: (r: SignReply) => void; timer: NodeJS.Timeout }>();
  private next = 0;
  private phase: Phase = 'token';
  private loss: { loss: SignerLoss; reason: string } = { loss: 'exited', reason: 'signer exited' };

  constructor(
    spec: WorkerSpec,
    private readonly timeoutMs: number,
    private readonly hooks: SignerHooks,
  ) {
    this.handlers = {
      read: readSignerEvent,
      onMessage: (m) => this.onEvent(m),
      onDiagnostic: hooks.onDiagnostic,
      onViolation: (v) => {
        this.loss = { loss: 'untrusted', reason: `signer broke the protocol: ${v.message}` };
        hooks.onViolation(v);
      },
      onExit: (code, signal) => {
        this.failAll();
        hooks.onExit(code, signal);
      },
    };
    this.worker = new FramedWorker({ ...spec, extraPipes: 1 }, { maxLine: 64 * 1024, maxPayload: MAX_CRL_TBS }, this.handlers);
    this.worker.pipe(3).on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.worker.pid;
  }

  /** Sends the PIN over the signer's own pipe and closes it. The caller keeps (and wipes) its Buffer. */
  sendPin(pin: Buffer): void {
    if (this.phase !== 'pin') return;
    this.phase = 'login';
    const pipe = this.worker.pipe(3);
    pipe.write(Buffer.from(pin));
    pipe.end();
  }

  /** A request; a presence check may leave its id to the client. */
  request(message: Exclude<SignerRequest, CheckRequest> | (Omit<CheckRequest, 'id'> & { id?: string })): Promise<SignReply> {
    const id = message.id ?? `check-${this.next++}`;
    return new Promise((resolve) => {
      if (this.pending.has(id)) return resolve({ answered: false, loss: 'exited', reason: `request ${id} is already with the signer` });
      const timer = setTimeout(() => {
        this.loss = { loss: 'stuck', reason: `signer did not answer within ${this.timeoutMs} ms` };
        this.hooks.onDiagnostic(`${this.loss.reason}: killing it`);
        this.worker.kill();
      }, this.timeoutMs);
      this.pending.set(id, { type: message.type, resolve, timer });
      this.worker.send(encodeSignerRequest({ ...message, id } as SignerRequest));
    });
  }

  /** The signer's answer to `id` proved untrue. */
  distrust(id: string, reason: string): void {
    this.worker.distrust(new ProtocolViolation(`answer to request ${id}: ${reason}`, id), this.handlers);
  }

  stop(): void {
    this.worker.end();
    const killer = setTimeout(() => this.worker.kill(), this.timeoutMs);
    killer.unref();
  }

  kill(): void {
    this.worker.kill();
  }

  private failAll(): void {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ answered: false, ...this.loss });
    }
    this.pending.clear();
  }

  private expectPhase(phase: Phase, what: string): void {
    if (this.phase !== phase) throw new ProtocolViolation(`${what} out of turn`);
  }

  private onEvent(event: SignerEvent): void {
    switch (event.type) {
      case 'token':
        this.expectPhase('token', 'token event');
        this.phase = 'pin';
        return this.hooks.onToken(event.token);
      case 'ready':
        this.expectPhase('login', 'ready event');
        this.phase = 'ready';
        return this.hooks.onReady();
      case 'login-failed':
        this.expectPhase('login', 'login event');
        return this.hooks.onLoginFailed(event.reason, event.pinIncorrect, event.pinLocked);
      case 'fatal':
        return this.hooks.onFatal(event.reason, event.tokenGone);
      default: {
        const p = this.pending.get(event.id);
        if (!p) throw new ProtocolViolation(`answered request ${event.id}, which it was not given`, event.id);
        if (event.type !== 'error' && event.type !== ANSWER_TYPE[p.type]) throw new ProtocolViolation(`answered a ${p.type} request with ${event.type}`, event.id);
        clearTimeout(p.timer);
        this.pending.delete(event.id);
        return p.resolve({ answered: true, result: event });
      }
    }
  }
}
