/**
 * The supervisor's handle on the signer process (CA_USER, the only process
 * that loads the PKCS#11 module). Requests are answered in order, matched by
 * id. Every event is validated and must come in its turn: the token before
 * the login, ready or a refused login after it, one answer of the right kind
 * per request. A signer that breaks that is killed and reported; what it
 * had in flight may have been signed and is treated as such.
 *
 * The watchdog judges progress, not queue length: the signer announces each
 * signature before it goes to the token, so while it has work, every token
 * operation (a signature, a presence check, the login) must end within
 * SIGNER_TIMEOUT of the one before. One that does not means the signer is
 * stuck in the driver: it is killed. Of what it had, the requests it never
 * announced never reached the token and come back as not started.
 */
import {
  encodeSignerRequest,
  MAX_CRL_TBS,
  readSignerEvent,
  type CheckRequest,
  type LoginRequest,
  type SignerEvent,
  type SignerRequest,
  type TokenInfo,
} from '@etoken-ca/protocol/signer-messages';
import { ProtocolViolation } from '@etoken-ca/protocol/violation';
import { FramedWorker, type WorkerHandlers, type WorkerSpec } from './framed-worker.js';

export type SignResult = Extract<SignerEvent, { type: 'cert' } | { type: 'crl' } | { type: 'error' } | { type: 'check' }>;

/** How a request ended when the signer gave no answer of its own. */
export type SignerLoss = 'exited' | 'stuck' | 'untrusted';

export type SignReply =
  | { readonly answered: true; readonly result: SignResult }
  /** `started`: it may have reached the token (announced, or a presence check); false: it certainly did not. */
  | { readonly answered: false; readonly started: boolean; readonly loss: SignerLoss; readonly reason: string };

export interface SignerHooks {
  readonly onToken: (token: TokenInfo) => void;
  readonly onReady: () => void;
  readonly onLoginFailed: (reason: string, pinIncorrect: boolean, pinLocked: boolean, notTried: boolean) => void;
  readonly onFatal: (reason: string, tokenGone: boolean) => void;
  readonly onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
  readonly onDiagnostic: (line: string) => void;
  readonly onViolation: (violation: ProtocolViolation) => void;
  /** The watchdog found a token operation running longer than the limit; the signer is being killed. */
  readonly onStuck?: (reason: string) => void;
}

type Sendable = Exclude<SignerRequest, CheckRequest | LoginRequest>;

const ANSWER_TYPE: Readonly<Record<Sendable['type'] | 'check', SignResult['type']>> = { 'sign-cert': 'cert', 'sign-crl': 'crl', check: 'check' };

type Phase = 'token' | 'pin' | 'login' | 'ready';

interface Pending {
  readonly type: Sendable['type'] | 'check';
  readonly resolve: (r: SignReply) => void;
  started: boolean;
}

export class SignerClient {
  private readonly worker: FramedWorker<SignerEvent>;
  private readonly handlers: WorkerHandlers<SignerEvent>;
  private readonly pending = new Map<string, Pending>();
  private next = 0;
  private phase: Phase = 'token';
  private loss: { loss: SignerLoss; reason: string } = { loss: 'exited', reason: 'signer exited' };
  private trusted = true;
  /** When the signer last showed progress (an event), or was given work while idle. */
  private lastProgress = 0;
  private watchdog: NodeJS.Timeout | null = null;

  constructor(
    spec: WorkerSpec,
    private readonly timeoutMs: number,
    private readonly hooks: SignerHooks,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.handlers = {
      read: readSignerEvent,
      onMessage: (m) => this.onEvent(m),
      onDiagnostic: hooks.onDiagnostic,
      onViolation: (v) => {
        this.trusted = false;
        this.loss = { loss: 'untrusted', reason: `signer broke the protocol: ${v.message}` };
        hooks.onViolation(v);
      },
      onExit: (code, signal) => {
        this.stopWatchdog();
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

  /** Requests sent and not answered yet. */
  get outstanding(): number {
    return this.pending.size;
  }

  /**
   * Sends the PIN over the signer's own pipe and closes it, then the login request naming the token the PIN
   * was asked for. The caller keeps (and wipes) its Buffer.
   */
  sendPin(pin: Buffer, login: Omit<LoginRequest, 'type'>): void {
    if (this.phase !== 'pin') return;
    this.phase = 'login';
    const pipe = this.worker.pipe(3);
    pipe.write(Buffer.from(pin));
    pipe.end();
    this.busy();
    this.worker.send(encodeSignerRequest({ type: 'login', ...login }));
  }

  /** A request; a presence check may leave its id to the client. Checks are answered before the login too. */
  request(message: Sendable | (Omit<CheckRequest, 'id'> & { id?: string })): Promise<SignReply> {
    const id = message.id ?? `check-${this.next++}`;
    return new Promise((resolve) => {
      if (this.pending.has(id)) return resolve({ answered: false, started: false, loss: 'exited', reason: `request ${id} is already with the signer` });
      if (!this.worker.alive) return resolve({ answered: false, started: false, ...this.loss });
      this.busy();
      this.pending.set(id, { type: message.type, resolve, started: message.type === 'check' });
      this.worker.send(encodeSignerRequest({ ...message, id } as SignerRequest));
    });
  }

  /** The signer's answer to `id` proved untrue. */
  distrust(id: string, reason: string): void {
    this.trusted = false;
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

  /** Work was handed over: when idle until now, the time of the next operation counts from here. */
  private busy(): void {
    if (!this.working()) this.lastProgress = this.now();
    this.watchdog ??= setTimeout(() => this.watch(), this.timeoutMs);
  }

  private working(): boolean {
    return this.pending.size > 0 || this.phase === 'login';
  }

  private watch(): void {
    this.watchdog = null;
    if (!this.working() || !this.worker.alive) return;
    const idle = this.now() - this.lastProgress;
    if (idle < this.timeoutMs) {
      this.watchdog = setTimeout(() => this.watch(), this.timeoutMs - idle);
      return;
    }
    // Timers run before I/O in a loop turn: let what the signer already wrote be read first.
    setImmediate(() => {
      if (!this.working() || !this.worker.alive || this.now() - this.lastProgress < this.timeoutMs) return this.busy();
      const seconds = Math.round(this.timeoutMs / 100) / 10;
      this.loss = { loss: 'stuck', reason: `a token operation did not finish within ${seconds} s` };
      this.hooks.onDiagnostic(`${this.loss.reason}: killing the signer`);
      this.hooks.onStuck?.(this.loss.reason);
      this.worker.kill();
    });
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
  }

  private failAll(): void {
    for (const [, p] of this.pending) p.resolve({ answered: false, started: p.started || !this.trusted, ...this.loss });
    this.pending.clear();
  }

  private expectPhase(phase: Phase, what: string): void {
    if (this.phase !== phase) throw new ProtocolViolation(`${what} out of turn`);
  }

  private onEvent(event: SignerEvent): void {
    this.lastProgress = this.now();
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
        this.phase = 'pin';
        return this.hooks.onLoginFailed(event.reason, event.pinIncorrect, event.pinLocked, event.notTried === true);
      case 'fatal':
        return this.hooks.onFatal(event.reason, event.tokenGone);
      case 'timed':
        throw new ProtocolViolation('a self-test timing from the signer');
      case 'signing':
        for (const id of event.ids) {
          const p = this.pending.get(id);
          if (!p || p.type === 'check' || p.started) throw new ProtocolViolation(`announced request ${id}, which it was not given or announced before`, id);
          p.started = true;
        }
        return;
      default: {
        const p = this.pending.get(event.id);
        if (!p) throw new ProtocolViolation(`answered request ${event.id}, which it was not given`, event.id);
        if (event.type !== 'error' && event.type !== ANSWER_TYPE[p.type]) throw new ProtocolViolation(`answered a ${p.type} request with ${event.type}`, event.id);
        if (event.type === 'check' && event.token && this.phase === 'ready') throw new ProtocolViolation('token facts in a check answer after the login', event.id);
        // A signature it answered without announcing: it did reach the token.
        if ((event.type === 'cert' || event.type === 'crl') && !p.started) throw new ProtocolViolation(`answered request ${event.id} with a signature it never announced`, event.id);
        this.pending.delete(event.id);
        return p.resolve({ answered: true, result: event });
      }
    }
  }
}
