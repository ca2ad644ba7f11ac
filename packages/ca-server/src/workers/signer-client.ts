/**
 * The supervisor's handle on the signer process (CA_USER, the only process
 * that loads the PKCS#11 module). Requests are answered in order, matched
 * by id; a request the signer does not answer within SIGNER_TIMEOUT means
 * it is stuck in the driver: it is killed and everything in flight fails as
 * "token gone".
 */
import type { CheckRequest, SignerEvent, SignerRequest, TokenInfo } from '../ipc.js';
import { LineWorker, type WorkerSpec } from './line-worker.js';

export type SignResult = Extract<SignerEvent, { type: 'cert' } | { type: 'crl' } | { type: 'error' } | { type: 'check' }>;

export interface SignerHooks {
  readonly onToken: (token: TokenInfo) => void;
  readonly onReady: () => void;
  readonly onLoginFailed: (reason: string, pinIncorrect: boolean, pinLocked: boolean) => void;
  readonly onFatal: (reason: string, tokenGone: boolean) => void;
  readonly onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
  readonly onDiagnostic: (line: string) => void;
}

export class SignerClient {
  private readonly worker: LineWorker;
  private readonly pending = new Map<string, { resolve: (r: SignResult) => void; timer: NodeJS.Timeout }>();
  private next = 0;

  constructor(
    spec: WorkerSpec,
    private readonly timeoutMs: number,
    private readonly hooks: SignerHooks,
  ) {
    this.worker = new LineWorker({ ...spec, extraPipes: 1 }, {
      onMessage: (m) => this.onMessage(m as SignerEvent),
      onDiagnostic: hooks.onDiagnostic,
      onExit: (code, signal) => {
        this.failAll('signer exited');
        hooks.onExit(code, signal);
      },
    });
    this.worker.pipe(3).on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.worker.pid;
  }

  /** Sends the PIN over the signer's own pipe and closes it. The caller keeps (and wipes) its Buffer. */
  sendPin(pin: Buffer): void {
    const pipe = this.worker.pipe(3);
    pipe.write(Buffer.from(pin));
    pipe.end();
  }

  /** A request; a presence check may leave its id to the client. */
  request(message: Exclude<SignerRequest, CheckRequest> | (Omit<CheckRequest, 'id'> & { id?: string })): Promise<SignResult> {
    const id = message.id ?? `c${this.next++}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.hooks.onDiagnostic(`signer did not answer within ${this.timeoutMs} ms: killing it`);
        this.worker.kill();
      }, this.timeoutMs);
      this.pending.set(id, { resolve, timer });
      if (message.type === 'sign-crl') this.worker.sendWithPayload({ type: message.type, id }, message.tbs);
      else this.worker.send({ ...message, id });
    });
  }

  stop(): void {
    this.worker.end();
    const killer = setTimeout(() => this.worker.kill(), this.timeoutMs);
    killer.unref();
  }

  kill(): void {
    this.worker.kill();
  }

  private failAll(reason: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ type: 'error', id, reason, tokenGone: true });
    }
    this.pending.clear();
  }

  private onMessage(m: SignerEvent): void {
    switch (m?.type) {
      case 'token':
        return this.hooks.onToken(m.token);
      case 'ready':
        return this.hooks.onReady();
      case 'login-failed':
        return this.hooks.onLoginFailed(m.reason, m.pinIncorrect, m.pinLocked);
      case 'fatal':
        return this.hooks.onFatal(m.reason, m.tokenGone);
      case 'cert':
      case 'crl':
      case 'error':
      case 'check': {
        const p = this.pending.get(m.id);
        if (!p) return this.hooks.onDiagnostic(`signer answered unknown request ${String(m.id)}`);
        clearTimeout(p.timer);
        this.pending.delete(m.id);
        return p.resolve(m);
      }
      default:
        this.hooks.onDiagnostic('signer sent an unknown message; killing it');
        this.worker.kill();
    }
  }
}
