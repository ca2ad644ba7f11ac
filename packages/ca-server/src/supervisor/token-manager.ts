/**
 * The token as the supervisor sees it: starts the signer, gives it the PIN
 * once the signer has found the right token, keeps the PIN (a Buffer, wiped
 * when the token goes away or the PIN is rejected), polls presence, and
 * counts a token epoch bumped by every hotplug event and every failed check.
 * A signature is usable only if the epoch is the same after it as before.
 *
 * Presence is polled every TOKEN_POLL_INTERVAL in every state with a token:
 * while the PIN prompt waits (a token pulled meanwhile withdraws the prompt,
 * which comes back when the token does), while the PIN is locked (a token
 * unlocked with the SO PIN, in place or re-inserted, is asked for its PIN
 * again), while signing, and after repeated device errors. The PIN flags
 * shown on the console follow the token's counter: a prompt whose flags went
 * stale is asked again, and the signer does not try a PIN when the counter
 * moved to a final try nobody confirmed.
 *
 * Repeated token failures (device errors, operations that never return)
 * stop signing and alert the operator instead of looping: the token is
 * then "failing" until it is pulled out and put back.
 */
import type { SignCertRequest, SignCrlRequest, TokenInfo } from '@etoken-ca/protocol/signer-messages';
import type { AuditLog } from './audit-log.js';
import type { PinSource } from './pin-source.js';
import type { SignerClient, SignerHooks, SignerLoss, SignReply } from './workers/signer-client.js';

/** 'restarting': the signer takes no more requests (caught in a lie, or exited) and a new one starts after its exit. */
export type TokenState = 'starting' | 'waiting-pin' | 'locked' | 'ready' | 'restarting' | 'failing' | 'absent' | 'no-pin' | 'stopped';

/** What the manager uses of a signer process: a SignerClient in the server. */
export type SignerPort = Pick<SignerClient, 'request' | 'sendPin' | 'distrust' | 'stop' | 'kill'>;

export interface TokenManagerOptions {
  /** Starts a signer process that reports to `hooks`; called again for each restart. */
  readonly createSigner: (hooks: SignerHooks) => SignerPort;
  readonly pollMs: number;
  readonly pinSource: PinSource;
  readonly log: AuditLog;
  /** Called on token.removed / token.inserted and similar operator-worthy events. */
  readonly notify?: (event: string, details: Record<string, unknown>) => void;
}

/** How a signature went, as far as the supervisor can know. */
export type SignOutcome =
  /** It never reached the token: nothing was signed. */
  | { readonly kind: 'not-sent' }
  /** Signed; `stable` only if the token was present and unchanged throughout. `tokenMs`: the token's time over it, as the signer measured it. */
  | { readonly kind: 'signed'; readonly der: Buffer; readonly stable: boolean; readonly tokenMs?: number }
  | { readonly kind: 'crl-signed'; readonly signature: Buffer; readonly stable: boolean }
  /** The signer refused it (policy, encoding): certainly not signed. */
  | { readonly kind: 'refused'; readonly reason: string }
  /** The token failed this one signature (CKR_DEVICE_ERROR) and gave none: not signed, worth trying again. */
  | { readonly kind: 'failed'; readonly reason: string }
  /** The token was asked and gave no usable answer: it may have signed. */
  | { readonly kind: 'lost'; readonly loss: SignerLoss | 'token-gone'; readonly reason: string };

/** Token failures in a row (device errors, stuck operations) after which signing stops. */
export const FAILURES_BEFORE_FAILING = 3;

const sameFlags = (a: TokenInfo, b: TokenInfo): boolean => a.pinCountLow === b.pinCountLow && a.pinFinalTry === b.pinFinalTry && a.pinLocked === b.pinLocked;

export class TokenManager {
  private signer: SignerPort | null = null;
  private pin: Buffer | null = null;
  /** The token serial the kept PIN was typed for. */
  private pinFor = '';
  private token: TokenInfo | null = null;
  private rejected = false;
  private loggingIn = false;
  private checking = false;
  private failures = 0;
  /** The serial of a token found failing; it is not logged in to again until it has been out of its reader. */
  private failingSerial: string | null = null;
  private epochValue = 0;
  private stateValue: TokenState = 'stopped';
  private waiters: Array<() => void> = [];
  private stateListeners: Array<() => void> = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private lastProblem = '';
  private pinRequest: AbortController | null = null;
  /** A token came back while the signer that lost it was still exiting: the next one starts as soon as it has. */
  private restartOnExit = false;
  /** What the signer reported while start-up held it (startEarly() until start()), in order. */
  private held: Array<() => void> | null = null;

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

  /** Called at every change of state (the signing queue starts or stops sending). */
  onStateChange(listener: () => void): void {
    this.stateListeners.push(listener);
  }

  /**
   * Starts the signer's process now but holds what it reports until start(): its own start-up (Node, the
   * PKCS#11 module, finding the token) runs while the server loads its database, and the token is acted on
   * (the PIN asked for, presence polled) only once the server can use it.
   */
  startEarly(): void {
    this.start();
    // A signer reports from later turns of the event loop, never from within start().
    this.held = [];
  }

  start(): void {
    const held = this.held;
    if (held) {
      this.held = null;
      for (const report of held) report();
      return;
    }
    if (this.signer) return;
    this.restartOnExit = false;
    this.setState('starting');
    this.loggingIn = false;
    this.checking = false;
    const report = (event: () => void): void => void (this.held ? this.held.push(event) : event());
    const signer: SignerPort = this.opts.createSigner({
      onToken: (token) => report(() => this.onToken(signer, token)),
      onReady: () => report(() => this.onReady(signer)),
      onLoginFailed: (reason, incorrect, locked, notTried) => report(() => this.onLoginFailed(reason, incorrect, locked, notTried)),
      onFatal: (reason, gone) => report(() => this.problem(reason, gone)),
      onExit: (code, signal) => report(() => this.onExit(signer, code, signal)),
      onDiagnostic: (line) => report(() => this.opts.log.warn({ event: 'worker.diagnostic', worker: 'signer' }, line)),
      onViolation: (v) => report(() => this.opts.log.error({ event: 'worker.untrusted', worker: 'signer', req: v.id, reason: v.message }, `signer killed: ${v.message}`)),
      onStuck: (reason) => report(() => this.onStuck(reason)),
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
    const reply: SignReply = await signer.request(request);
    // A signer that stopped answering is restarted by onExit; what it had started may have been signed.
    if (!reply.answered) {
      if (reply.started) return { kind: 'lost', loss: reply.loss, reason: reply.reason };
      this.signerLost(signer);
      return { kind: 'not-sent' };
    }
    const { result } = reply;
    const stable = (): boolean => result.type !== 'check' && result.type !== 'error' && result.tokenOk && this.epochValue === before;
    switch (result.type) {
      case 'cert':
        this.failures = 0;
        return { kind: 'signed', der: result.der, stable: stable(), ...(result.tokenUs === undefined ? {} : { tokenMs: result.tokenUs / 1000 }) };
      case 'crl':
        this.failures = 0;
        return { kind: 'crl-signed', signature: result.signature, stable: stable() };
      case 'error':
        if (result.deviceError) {
          this.failure(`device error: ${result.reason}`);
          return { kind: 'failed', reason: result.reason };
        }
        if (!result.tokenGone) return { kind: 'refused', reason: result.reason };
        this.gone(`token failed during a signature: ${result.reason}`);
        return { kind: 'lost', loss: 'token-gone', reason: result.reason };
      case 'check':
        return { kind: 'lost', loss: 'untrusted', reason: 'a presence answer to a signing request' };
    }
  }

  /** The signer's answer to `id` failed the supervisor's checks: the signer is replaced. */
  distrustSigner(id: string, reason: string): void {
    const signer = this.signer;
    if (!signer) return;
    signer.distrust(id, reason);
    this.signerLost(signer);
  }

  /** A hotplug event for our device: the epoch moves at once, then presence is checked. */
  hotplug(kind: 'attach' | 'detach'): void {
    this.epochValue++;
    this.opts.log.info({ event: kind === 'attach' ? 'usb.attach' : 'usb.detach', epoch: this.epochValue }, `USB ${kind} event for the token device`);
    if (this.polled()) void this.check();
    // 'no-pin' too: a token put back (e.g. after unlocking it elsewhere) is worth asking about again.
    else if ((this.stateValue === 'absent' || this.stateValue === 'no-pin') && kind === 'attach') this.retryNow();
  }

  /** One presence check; a failure counts as removal. Before the login it also brings the token's current PIN flags. */
  async check(): Promise<boolean> {
    const signer = this.signer;
    if (!signer || !this.polled() || this.checking || this.loggingIn) return false;
    this.checking = true;
    let reply: SignReply;
    try {
      reply = await signer.request({ type: 'check' });
    } finally {
      this.checking = false;
    }
    if (signer !== this.signer) return false;
    // Never sent: the signer is on its way out (killed, or caught in a lie) and its exit restarts it. That says
    // nothing about the token, and must not wipe the PIN the next signer logs in with.
    if (!reply.answered && !reply.started) {
      this.signerLost(signer);
      return false;
    }
    const result = reply.answered && reply.result.type === 'check' ? reply.result : null;
    if (!result?.ok) {
      this.gone(result?.reason ?? (reply.answered ? 'presence check failed' : reply.reason));
      return false;
    }
    if (result.token) this.tokenFacts(signer, result.token);
    return true;
  }

  stop(): void {
    this.setState('stopped');
    this.pinRequest?.abort('stopped');
    this.clearTimers();
    this.wipePin();
    this.signer?.stop();
    this.signer = null;
  }

  /** States in which a signer holds the token and presence is polled. */
  private polled(): boolean {
    return this.stateValue === 'ready' || this.stateValue === 'waiting-pin' || this.stateValue === 'locked' || this.stateValue === 'failing';
  }

  private setState(state: TokenState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    for (const listener of this.stateListeners) listener();
  }

  private onToken(signer: SignerPort, token: TokenInfo): void {
    if (signer !== this.signer) return;
    const inserted = this.token === null || this.lastProblem !== '';
    this.token = token;
    if (inserted) {
      this.opts.log.info({ event: 'token.inserted', label: token.label, tokenSerial: token.serial }, 'token present with the CA key');
      if (this.lastProblem) this.opts.notify?.('token.inserted', { label: token.label, tokenSerial: token.serial });
    }
    this.lastProblem = '';
    // A PIN kept across a signer restart goes only to the token it was typed for.
    if (this.pin && this.pinFor !== token.serial) this.wipePin();
    this.startPolling();
    if (this.failingSerial === token.serial) {
      this.wipePin();
      this.setState('failing');
      return;
    }
    this.failingSerial = null;
    this.setState('waiting-pin');
    void this.obtainPin(signer);
  }

  /** Asks for the PIN of the token shown (unless one is kept), then logs in; a locked token is reported and watched instead. */
  private async obtainPin(signer: SignerPort): Promise<void> {
    const token = this.token;
    if (!token || signer !== this.signer) return;
    if (token.pinLocked) return this.locked(token);
    if (this.pin) return this.logIn(signer, token);
    this.setState('waiting-pin');
    const request = new AbortController();
    this.pinRequest = request;
    const pin = await this.opts.pinSource.ask(token, this.rejected, request.signal);
    if (this.pinRequest === request) this.pinRequest = null;
    if (signer !== this.signer || this.stateValue !== 'waiting-pin' || request.signal.aborted || this.token !== token) {
      pin?.fill(0);
      return;
    }
    if (!pin || pin.length === 0) {
      pin?.fill(0);
      this.setState('no-pin');
      this.opts.log.error({ event: 'pin.unavailable', tokenSerial: token.serial }, 'no PIN available: not signing until the server is given one');
      this.clearTimers();
      signer.stop();
      return;
    }
    this.pin = pin;
    this.pinFor = token.serial;
    this.logIn(signer, token);
  }

  private logIn(signer: SignerPort, token: TokenInfo): void {
    if (!this.pin) return;
    this.loggingIn = true;
    signer.sendPin(this.pin, { serial: token.serial, finalTryConfirmed: token.pinFinalTry });
  }

  private locked(token: TokenInfo): void {
    this.setState('locked');
    this.wipePin();
    this.opts.log.error({ event: 'token.locked', tokenSerial: token.serial }, 'token PIN is locked: not tried; waiting for the token to be unlocked with the SO PIN');
    this.opts.pinSource.locked?.(token);
  }

  /** The token's facts from a check before the login: a prompt or a lock that no longer matches them is redone. */
  private tokenFacts(signer: SignerPort, now: TokenInfo): void {
    const shown = this.token;
    if (!shown || sameFlags(shown, now) || this.loggingIn) return;
    this.token = now;
    if (this.stateValue === 'locked' && !now.pinLocked) {
      this.opts.log.info({ event: 'token.unlocked', tokenSerial: now.serial }, 'token PIN unlocked: asking for the PIN');
      this.opts.notify?.('token.unlocked', { tokenSerial: now.serial });
      void this.obtainPin(signer);
    } else if (this.stateValue === 'waiting-pin') {
      // The prompt shows stale flags (a final try it would not confirm, say): withdrawn and shown again.
      this.pinRequest?.abort('changed');
      this.pinRequest = null;
      void this.obtainPin(signer);
    }
  }

  private onReady(signer: SignerPort): void {
    if (signer !== this.signer) return;
    this.loggingIn = false;
    this.rejected = false;
    this.failures = 0;
    this.setState('ready');
    this.opts.log.info({ event: 'pin.accepted', tokenSerial: this.token?.serial }, 'token logged in: ready to sign');
    if (this.token) this.opts.pinSource.accepted?.(this.token);
    for (const w of this.waiters.splice(0)) w();
  }

  private onLoginFailed(reason: string, incorrect: boolean, locked: boolean, notTried: boolean): void {
    this.loggingIn = false;
    this.wipePin();
    this.rejected = incorrect;
    const tokenSerial = this.token?.serial;
    if (notTried) {
      this.opts.log.warn({ event: 'pin.not-tried', tokenSerial, reason }, `PIN not tried: ${reason}`);
      return;
    }
    this.opts.log.error({ event: locked ? 'pin.locked' : 'pin.rejected', tokenSerial, reason }, `token login refused: ${reason}`);
    this.opts.notify?.(locked ? 'pin.locked' : 'pin.rejected', { tokenSerial, reason });
  }

  private problem(reason: string, tokenGone: boolean): void {
    this.epochValue++;
    if (reason !== this.lastProblem) {
      this.opts.log.error({ event: tokenGone ? 'token.absent' : 'token.refused', reason }, `token not usable: ${reason}`);
      this.opts.notify?.(tokenGone ? 'token.absent' : 'token.refused', { reason });
    }
    this.lastProblem = reason;
    if (tokenGone) {
      this.wipePin();
      this.failingSerial = null;
    }
  }

  /** The token went away (or its session did) while a signer held it: the prompt is withdrawn, the PIN wiped, the signer stopped. */
  private gone(reason: string): void {
    if (!this.polled()) return;
    this.epochValue++;
    const was = this.stateValue;
    this.setState('absent');
    this.pinRequest?.abort('gone');
    this.pinRequest = null;
    this.wipePin();
    this.lastProblem = reason;
    this.failingSerial = null;
    const tokenSerial = this.token?.serial;
    this.opts.log.error({ event: 'token.removed', tokenSerial, reason, was }, 'token removed or unusable: signing stopped');
    this.opts.notify?.('token.removed', { tokenSerial, reason });
    this.clearTimers();
    this.signer?.kill();
  }

  /**
   * The signer takes no more requests, and its exit (which restarts it) is not seen yet: not ready from now. A
   * request granted a turn meanwhile would come straight back unsent and be granted again at once, a loop of
   * promises that never lets the event loop see that exit.
   */
  private signerLost(signer: SignerPort): void {
    if (signer === this.signer && this.stateValue === 'ready') this.setState('restarting');
  }

  /** One more token failure in a row; too many stop signing until the token is pulled out and put back. */
  private failure(reason: string): void {
    this.failures++;
    if (this.failures < FAILURES_BEFORE_FAILING || this.stateValue !== 'ready') return;
    this.setState('failing');
    const tokenSerial = this.token?.serial;
    this.failingSerial = tokenSerial ?? null;
    this.wipePin();
    const message = `${this.failures} token failures in a row (last: ${reason}): signing stopped until the token has been pulled out and put back (or etoken-ca restarted), and its PIN typed again.`;
    this.opts.log.error({ event: 'token.failing', tokenSerial, failures: this.failures, reason }, message);
    this.opts.notify?.('token.failing', { tokenSerial, message });
  }

  private onStuck(reason: string): void {
    this.failure(reason);
  }

  private onExit(signer: SignerPort, code: number | null, signal: NodeJS.Signals | null): void {
    if (signer !== this.signer) return;
    this.signer = null;
    this.loggingIn = false;
    this.pinRequest?.abort('gone');
    this.pinRequest = null;
    this.epochValue++;
    this.clearTimers();
    if (this.stateValue === 'stopped' || (this.stateValue === 'no-pin' && !this.restartOnExit)) return;
    if (this.stateValue === 'ready' || this.stateValue === 'restarting' || this.stateValue === 'failing') {
      this.opts.log.error({ event: 'signer.exited', code, signal }, 'signer exited; restarting it');
    }
    this.setState('absent');
    this.retryTimer = setTimeout(() => this.start(), this.restartOnExit ? 0 : this.opts.pollMs);
    this.retryTimer.unref();
  }

  private startPolling(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => void this.check(), this.opts.pollMs);
    this.pollTimer.unref();
  }

  private retryNow(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.signer) this.restartOnExit = true;
    else this.start();
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
    this.pinFor = '';
  }
}
