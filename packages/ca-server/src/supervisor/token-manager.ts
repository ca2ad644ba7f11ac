/**
 * The token as the supervisor sees it: starts the signer, gives it the PIN
 * once the signer has found the right token, keeps the PIN (a Buffer, wiped
 * when the token goes away or the PIN is rejected), polls presence, and
 * counts a token epoch bumped by every hotplug event and every failed check.
 * A signature is usable only if the epoch is the same after it as before.
 */
import type { SignCertRequest, SignCrlRequest, TokenInfo } from '@etoken-ca/protocol/signer-messages';
import type { AuditLog } from './audit-log.js';
import type { PinSource } from './pin-source.js';
import type { WorkerSpec } from './workers/framed-worker.js';
import { SignerClient, type SignerLoss } from './workers/signer-client.js';

export type TokenState = 'starting' | 'waiting-pin' | 'ready' | 'absent' | 'no-pin' | 'stopped';

export interface TokenManagerOptions {
  readonly spec: WorkerSpec;
  readonly signerTimeoutMs: number;
  readonly pollMs: number;
  readonly pinSource: PinSource;
  readonly log: AuditLog;
  /** Called on token.removed / token.inserted and similar operator-worthy events. */
  readonly notify?: (event: string, details: Record<string, unknown>) => void;
}

/** How a signature went, as far as the supervisor can know. */
export type SignOutcome =
  /** It never reached a signer: nothing was signed. */
  | { readonly kind: 'not-sent' }
  /** Signed; `stable` only if the token was present and unchanged throughout. */
  | { readonly kind: 'signed'; readonly der: Buffer; readonly stable: boolean }
  | { readonly kind: 'crl-signed'; readonly signature: Buffer; readonly stable: boolean }
  /** The signer refused it (policy, encoding): certainly not signed. */
  | { readonly kind: 'refused'; readonly reason: string }
  /** The signer was asked and gave no usable answer: it may have signed. */
  | { readonly kind: 'lost'; readonly loss: SignerLoss | 'token-gone'; readonly reason: string };

export class TokenManager {
  private signer: SignerClient | null = null;
  private pin: Buffer | null = null;
  private token: TokenInfo | null = null;
  private rejected = false;
  private epochValue = 0;
  private stateValue: TokenState = 'stopped';
  private waiters: Array<() => void> = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private lastProblem = '';
  private pinRequest: AbortController | null = null;

  constructor(private readonly opts: TokenManagerOptions) {}

  get epoch(): number {
    return this.epochValue;
  }

  get state(): TokenState {
    return this.stateValue;
  }

  get tokenInfo(): TokenInfo | null {
    return this.token;
  }

  start(): void {
    if (this.stateValue === 'starting' || this.stateValue === 'ready' || this.stateValue === 'waiting-pin') return;
    this.stateValue = 'starting';
    const signer = new SignerClient(this.opts.spec, this.opts.signerTimeoutMs, {
      onToken: (token) => void this.onToken(signer, token),
      onReady: () => this.onReady(),
      onLoginFailed: (reason, incorrect, locked) => this.onLoginFailed(reason, incorrect, locked),
      onFatal: (reason, gone) => this.problem(reason, gone),
      onExit: (code, signal) => this.onExit(signer, code, signal),
      onDiagnostic: (line) => this.opts.log.warn({ event: 'worker.diagnostic', worker: 'signer' }, line),
      onViolation: (v) => this.opts.log.error({ event: 'worker.untrusted', worker: 'signer', req: v.id, reason: v.message }, `signer killed: ${v.message}`),
    });
    this.signer = signer;
  }

  /** Resolves when the token is ready to sign. */
  whenReady(): Promise<void> {
    if (this.stateValue === 'ready') return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  sign(request: SignCertRequest): Promise<SignOutcome> {
    return this.signOnToken(request);
  }

  /** A CRL: published only when `stable`, like a certificate is answered only then. */
  signCrl(request: SignCrlRequest): Promise<SignOutcome> {
    return this.signOnToken(request);
  }

  private async signOnToken(request: SignCertRequest | SignCrlRequest): Promise<SignOutcome> {
    const before = this.epochValue;
    const signer = this.signer;
    if (!signer || this.stateValue !== 'ready') return { kind: 'not-sent' };
    const reply = await signer.request(request);
    // A signer that stopped answering is restarted by onExit; what it had may have been signed.
    if (!reply.answered) return { kind: 'lost', loss: reply.loss, reason: reply.reason };
    const { result } = reply;
    const stable = (): boolean => result.type !== 'check' && result.type !== 'error' && result.tokenOk && this.epochValue === before;
    switch (result.type) {
      case 'cert':
        return { kind: 'signed', der: result.der, stable: stable() };
      case 'crl':
        return { kind: 'crl-signed', signature: result.signature, stable: stable() };
      case 'error':
        if (!result.tokenGone) return { kind: 'refused', reason: result.reason };
        this.gone('token failed during a signature');
        return { kind: 'lost', loss: 'token-gone', reason: result.reason };
      case 'check':
        return { kind: 'lost', loss: 'untrusted', reason: 'a presence answer to a signing request' };
    }
  }

  /** The signer's answer to `id` failed the supervisor's checks: the signer is replaced. */
  distrustSigner(id: string, reason: string): void {
    this.signer?.distrust(id, reason);
  }

  /** A hotplug event for our device: the epoch moves at once, then presence is checked. */
  hotplug(kind: 'attach' | 'detach'): void {
    this.epochValue++;
    this.opts.log.info({ event: kind === 'attach' ? 'usb.attach' : 'usb.detach', epoch: this.epochValue }, `USB ${kind} event for the token device`);
    if (this.stateValue === 'ready') void this.check();
    // A signer waiting for the PIN cannot notice a removal: restart it, which also cancels the prompt.
    else if (this.stateValue === 'waiting-pin' && kind === 'detach') this.signer?.kill();
    // 'no-pin' too: a token put back (e.g. after unlocking it elsewhere) is worth asking about again.
    else if ((this.stateValue === 'absent' || this.stateValue === 'no-pin') && kind === 'attach') this.retryNow();
  }

  /** One presence check; a failure counts as removal. */
  async check(): Promise<boolean> {
    const signer = this.signer;
    if (!signer || this.stateValue !== 'ready') return false;
    const reply = await signer.request({ type: 'check' });
    const ok = reply.answered && reply.result.type === 'check' && reply.result.ok;
    if (!ok) {
      const reason = reply.answered ? (reply.result.type === 'check' ? reply.result.reason : undefined) : reply.reason;
      this.gone(reason ?? 'presence check failed');
    }
    return ok;
  }

  stop(): void {
    this.stateValue = 'stopped';
    this.pinRequest?.abort();
    this.clearTimers();
    this.wipePin();
    this.signer?.stop();
    this.signer = null;
  }

  private async onToken(signer: SignerClient, token: TokenInfo): Promise<void> {
    if (signer !== this.signer) return;
    const inserted = this.token === null || this.lastProblem !== '';
    this.token = token;
    if (inserted) {
      this.opts.log.info({ event: 'token.inserted', label: token.label, tokenSerial: token.serial }, 'token present with the CA key');
      if (this.lastProblem) this.opts.notify?.('token.inserted', { label: token.label, tokenSerial: token.serial });
    }
    this.lastProblem = '';
    if (!this.pin) {
      this.stateValue = 'waiting-pin';
      const request = new AbortController();
      this.pinRequest = request;
      const pin = await this.opts.pinSource.ask(token, this.rejected, request.signal);
      if (this.pinRequest === request) this.pinRequest = null;
      if (signer !== this.signer || this.stateValue !== 'waiting-pin') {
        pin?.fill(0);
        return;
      }
      if (!pin || pin.length === 0) {
        pin?.fill(0);
        this.stateValue = 'no-pin';
        this.opts.log.error({ event: 'pin.unavailable', tokenSerial: token.serial }, 'no PIN available: not signing until the server is given one');
        signer.stop();
        return;
      }
      this.pin = pin;
    }
    signer.sendPin(this.pin);
  }

  private onReady(): void {
    this.stateValue = 'ready';
    this.rejected = false;
    this.opts.log.info({ event: 'pin.accepted', tokenSerial: this.token?.serial }, 'token logged in: ready to sign');
    if (this.token) this.opts.pinSource.accepted?.(this.token);
    for (const w of this.waiters.splice(0)) w();
    this.pollTimer = setInterval(() => void this.check(), this.opts.pollMs);
    this.pollTimer.unref();
  }

  private onLoginFailed(reason: string, incorrect: boolean, locked: boolean): void {
    this.wipePin();
    this.rejected = incorrect;
    this.opts.log.error({ event: locked ? 'pin.locked' : 'pin.rejected', tokenSerial: this.token?.serial, reason }, `token login refused: ${reason}`);
    this.opts.notify?.(locked ? 'pin.locked' : 'pin.rejected', { tokenSerial: this.token?.serial, reason });
  }

  private problem(reason: string, tokenGone: boolean): void {
    this.epochValue++;
    if (reason !== this.lastProblem) {
      this.opts.log.error({ event: tokenGone ? 'token.absent' : 'token.refused', reason }, `token not usable: ${reason}`);
      this.opts.notify?.(tokenGone ? 'token.absent' : 'token.refused', { reason });
    }
    this.lastProblem = reason;
    if (tokenGone) this.wipePin();
  }

  private gone(reason: string): void {
    if (this.stateValue !== 'ready') return;
    this.epochValue++;
    this.stateValue = 'absent';
    this.wipePin();
    this.lastProblem = reason;
    this.opts.log.error({ event: 'token.removed', tokenSerial: this.token?.serial, reason }, 'token removed or unusable: signing stopped');
    this.opts.notify?.('token.removed', { tokenSerial: this.token?.serial, reason });
    this.clearTimers();
    this.signer?.kill();
  }

  private onExit(signer: SignerClient, code: number | null, signal: NodeJS.Signals | null): void {
    if (signer !== this.signer) return;
    this.signer = null;
    this.pinRequest?.abort();
    this.epochValue++;
    this.clearTimers();
    if (this.stateValue === 'stopped' || this.stateValue === 'no-pin') return;
    if (this.stateValue === 'ready') this.opts.log.error({ event: 'signer.exited', code, signal }, 'signer exited; restarting it');
    this.stateValue = 'absent';
    this.retryTimer = setTimeout(() => this.start(), this.opts.pollMs);
    this.retryTimer.unref();
  }

  private retryNow(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.start();
  }

  private clearTimers(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pollTimer = null;
    this.retryTimer = null;
  }

  private wipePin(): void {
    this.pin?.fill(0);
    this.pin = null;
  }
}
