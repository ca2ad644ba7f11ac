/**
 * The token manager's state machine with fakes at its ports: a scripted
 * signer (the test says which token it found, how the login and each
 * presence check went, when it exits), a PIN source the test answers, a
 * collecting log, and fake timers for the presence poll and the restarts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LoginRequest, TokenInfo } from '@etoken-ca/protocol/signer-messages';
import type { AuditRecord } from './audit-log.js';
import type { PinSource } from './pin-source.js';
import { FAILURES_BEFORE_FAILING, TokenManager, type SignerPort, type TokenState } from './token-manager.js';
import { tokenSignQueue } from './sign-queue.js';
import type { SignerHooks, SignerLoss, SignReply, SignResult } from './workers/signer-client.js';

const POLL_MS = 10_000;

const tokenInfo = (facts: Partial<TokenInfo> = {}): TokenInfo => ({
  label: 'CA token',
  serial: 'A1',
  slot: 0,
  pinCountLow: false,
  pinFinalTry: false,
  pinLocked: false,
  ...facts,
});

const signRequest = { type: 'sign-cert', id: 'r1', content: {} } as Parameters<TokenManager['sign']>[0];

/** One signer process as the manager sees it; the test plays its side. */
class FakeSigner implements SignerPort {
  readonly logins: Array<Omit<LoginRequest, 'type'> & { readonly pin: string }> = [];
  stopped = false;
  killed = false;
  /** Why no request reaches it any more (caught in a lie and killed, or exited), as with the real client before its exit is seen. */
  takesNoRequests: SignerLoss | null = null;
  /** The answer to the next presence checks. */
  presence: { ok: true; token?: TokenInfo } | { ok: false; reason: string } = { ok: true };
  /** Answers to signing requests, in order. */
  readonly signResults: SignResult[] = [];

  constructor(private readonly hooks: SignerHooks) {}

  request(message: Parameters<SignerPort['request']>[0]): Promise<SignReply> {
    const id = message.id ?? 'check';
    if (this.takesNoRequests) return Promise.resolve({ answered: false, started: false, loss: this.takesNoRequests, reason: 'gone' });
    if (message.type === 'check') return Promise.resolve({ answered: true, result: { type: 'check', id, ...this.presence } });
    const result = this.signResults.shift();
    if (!result) throw new Error(`no answer scripted for ${id}`);
    return Promise.resolve({ answered: true, result });
  }

  sendPin(pin: Buffer, login: Omit<LoginRequest, 'type'>): void {
    this.logins.push({ pin: pin.toString(), ...login });
  }

  distrust(): void {
    this.takesNoRequests = 'untrusted';
    this.killed = true;
  }

  stop(): void {
    this.stopped = true;
  }

  kill(): void {
    this.killed = true;
  }

  foundToken(token: TokenInfo): void {
    this.hooks.onToken(token);
  }

  loginAccepted(): void {
    this.hooks.onReady();
  }

  /** The signer refused the login and, as the real one does, exits. */
  loginRefused(reason: string, pinIncorrect: boolean): void {
    this.hooks.onLoginFailed(reason, pinIncorrect, false, false);
    this.exit(1, null);
  }

  stuck(reason: string): void {
    this.hooks.onStuck?.(reason);
  }

  exit(code: number | null, signal: NodeJS.Signals | null): void {
    this.hooks.onExit(code, signal);
  }
}

interface PinAsk {
  readonly token: TokenInfo;
  readonly previousRejected: boolean;
  readonly cancelled: AbortSignal;
  /** The operator's answer: the Buffer handed over, which the manager owns (and wipes) from then on. */
  readonly answer: (pin: string | null) => Buffer | null;
}

/** A console the test types on. */
class FakePinSource implements PinSource {
  readonly asks: PinAsk[] = [];
  readonly lockedShown: TokenInfo[] = [];
  readonly acceptedShown: TokenInfo[] = [];

  ask(token: TokenInfo, previousRejected: boolean, cancelled: AbortSignal): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const answer = (pin: string | null): Buffer | null => {
        const typed = pin === null ? null : Buffer.from(pin);
        resolve(typed);
        return typed;
      };
      this.asks.push({ token, previousRejected, cancelled, answer });
    });
  }

  locked(token: TokenInfo): void {
    this.lockedShown.push(token);
  }

  accepted(token: TokenInfo): void {
    this.acceptedShown.push(token);
  }

  get last(): PinAsk {
    const ask = this.asks.at(-1);
    if (!ask) throw new Error('no PIN was asked for');
    return ask;
  }
}

let manager: TokenManager;
let signers: FakeSigner[];
let pins: FakePinSource;
let logs: AuditRecord[];
let notices: string[];
let states: TokenState[];

/** The signer started last. */
const signer = (): FakeSigner => {
  const last = signers.at(-1);
  if (!last) throw new Error('no signer was started');
  return last;
};
const events = (): string[] => logs.map((r) => r.event);
const wiped = (pin: Buffer | null): boolean => pin !== null && pin.every((byte) => byte === 0);
/** Lets the promise chains the manager started (PIN answers, presence checks) run, and timers due now. */
const settle = (): Promise<void> => vi.advanceTimersByTimeAsync(0).then(() => undefined);

/** Started, token found, PIN typed and accepted: returns the PIN's Buffer as the manager holds it. */
async function logIn(token = tokenInfo(), pin = '123456'): Promise<Buffer | null> {
  manager.start();
  signer().foundToken(token);
  const typed = pins.last.answer(pin);
  await settle();
  signer().loginAccepted();
  expect(manager.state).toBe('ready');
  return typed;
}

/** A poll interval after the first signer exited, the second finds the same token and logs in with the PIN kept, not asked again. */
async function restartedWithKeptPin(): Promise<void> {
  await vi.advanceTimersByTimeAsync(POLL_MS);
  expect(signers).toHaveLength(2);
  signer().foundToken(tokenInfo());
  expect(pins.asks).toHaveLength(1);
  expect(signer().logins).toEqual([{ pin: '123456', serial: 'A1', finalTryConfirmed: false }]);
  signer().loginAccepted();
  expect(manager.state).toBe('ready');
}

beforeEach(() => {
  vi.useFakeTimers();
  signers = [];
  pins = new FakePinSource();
  logs = [];
  notices = [];
  states = [];
  const record = (r: AuditRecord): void => void logs.push(r);
  manager = new TokenManager({
    createSigner: (hooks) => {
      const created = new FakeSigner(hooks);
      signers.push(created);
      return created;
    },
    pollMs: POLL_MS,
    pinSource: pins,
    log: { info: record, warn: record, error: record },
    notify: (event) => void notices.push(event),
  });
  manager.onStateChange(() => states.push(manager.state));
});

afterEach(() => {
  manager.stop();
  vi.useRealTimers();
});

describe('TokenManager', () => {
  it('starts a signer, asks the PIN of the token it found, logs in and wakes whoever waited for the token', async () => {
    const waited = vi.fn();
    void manager.whenReady().then(waited);
    manager.start();
    expect(manager.state).toBe('starting');
    expect(await manager.sign(signRequest)).toEqual({ kind: 'not-sent' });

    const token = tokenInfo({ pinCountLow: true });
    signer().foundToken(token);
    expect(events()).toEqual(['token.inserted']);
    expect(manager.state).toBe('waiting-pin');
    expect(pins.asks).toHaveLength(1);
    expect(pins.last).toMatchObject({ token, previousRejected: false });

    pins.last.answer('123456');
    await settle();
    expect(signer().logins).toEqual([{ pin: '123456', serial: 'A1', finalTryConfirmed: false }]);
    expect(waited).not.toHaveBeenCalled();

    signer().loginAccepted();
    await settle();
    expect(manager.state).toBe('ready');
    expect(states).toEqual(['starting', 'waiting-pin', 'ready']);
    expect(events()).toEqual(['token.inserted', 'pin.accepted']);
    expect(pins.acceptedShown).toEqual([token]);
    expect(waited).toHaveBeenCalledOnce();
    // Nothing operator-worthy in a first start.
    expect(notices).toEqual([]);

    signer().signResults.push({ type: 'cert', id: 'r1', der: Buffer.from('cert'), tokenOk: true });
    expect(await manager.sign(signRequest)).toEqual({ kind: 'signed', der: Buffer.from('cert'), stable: true });
  });

  it('started early, holds what the signer reports until start(), then acts on it in order', async () => {
    manager.startEarly();
    expect(signers).toHaveLength(1);
    signer().foundToken(tokenInfo());
    signer().exit(69, null);
    await vi.advanceTimersByTimeAsync(POLL_MS * 3);
    // Held: no PIN asked, nothing logged, no restart, no presence poll.
    expect(pins.asks).toHaveLength(0);
    expect(events()).toEqual([]);
    expect(signers).toHaveLength(1);
    expect(manager.state).toBe('starting');

    manager.start();
    // The token was found, then the signer exited: the prompt is withdrawn and a new signer started after the poll interval.
    expect(events()).toEqual(['token.inserted']);
    expect(pins.last.cancelled.aborted).toBe(true);
    expect(manager.state).toBe('absent');
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(signers).toHaveLength(2);
    signer().foundToken(tokenInfo());
    pins.last.answer('123456');
    await settle();
    signer().loginAccepted();
    expect(manager.state).toBe('ready');
  });

  it('asks again, saying the PIN was rejected, when the signer that refused the login has been replaced', async () => {
    manager.start();
    signer().foundToken(tokenInfo());
    const typed = pins.last.answer('wrong');
    await settle();
    signer().loginRefused('CKR_PIN_INCORRECT', true);
    expect(wiped(typed)).toBe(true);
    expect(events()).toEqual(['token.inserted', 'pin.rejected']);
    expect(notices).toEqual(['pin.rejected']);
    expect(manager.state).toBe('absent');

    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(signers).toHaveLength(2);
    signer().foundToken(tokenInfo());
    expect(pins.asks).toHaveLength(2);
    expect(pins.last.previousRejected).toBe(true);
    pins.last.answer('123456');
    await settle();
    signer().loginAccepted();
    expect(manager.state).toBe('ready');
  });

  it('does not ask the PIN of a locked token, watches it, and asks once it is unlocked, on the same signer', async () => {
    manager.start();
    signer().foundToken(tokenInfo({ pinLocked: true }));
    expect(manager.state).toBe('locked');
    expect(pins.asks).toEqual([]);
    expect(pins.lockedShown).toHaveLength(1);
    expect(events()).toEqual(['token.inserted', 'token.locked']);

    // Still locked at the next check: nothing changes.
    signer().presence = { ok: true, token: tokenInfo({ pinLocked: true }) };
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(manager.state).toBe('locked');
    expect(pins.asks).toEqual([]);

    // Unlocked with the SO PIN, in place.
    signer().presence = { ok: true, token: tokenInfo({ pinLocked: false, pinFinalTry: true }) };
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(events()).toContain('token.unlocked');
    expect(notices).toEqual(['token.unlocked']);
    expect(manager.state).toBe('waiting-pin');
    expect(pins.last.token.pinLocked).toBe(false);
    pins.last.answer('123456');
    await settle();
    expect(signers).toHaveLength(1);
    expect(signer().logins).toEqual([{ pin: '123456', serial: 'A1', finalTryConfirmed: true }]);
  });

  it('stops the signer when no PIN can be had, and asks again when the token is attached again', async () => {
    manager.start();
    signer().foundToken(tokenInfo());
    pins.last.answer(null);
    await settle();
    expect(manager.state).toBe('no-pin');
    expect(events()).toContain('pin.unavailable');
    expect(signer().stopped).toBe(true);

    // The stopped signer's exit starts nothing, however long it waits.
    signer().exit(0, null);
    await vi.advanceTimersByTimeAsync(3 * POLL_MS);
    expect(signers).toHaveLength(1);
    expect(manager.state).toBe('no-pin');

    manager.hotplug('attach');
    expect(signers).toHaveLength(2);
    expect(manager.state).toBe('starting');
    signer().foundToken(tokenInfo());
    expect(pins.asks).toHaveLength(2);
    expect(manager.state).toBe('waiting-pin');
  });

  it('on a failed presence check while ready: token.removed, PIN wiped, signer killed, and a new signer a poll interval after it exited', async () => {
    const typed = await logIn();
    const epoch = manager.epoch;
    signer().presence = { ok: false, reason: 'CKR_DEVICE_REMOVED' };
    await vi.advanceTimersByTimeAsync(POLL_MS);

    expect(manager.state).toBe('absent');
    expect(manager.epoch).toBeGreaterThan(epoch);
    expect(logs.find((r) => r.event === 'token.removed')).toMatchObject({ tokenSerial: 'A1', reason: 'CKR_DEVICE_REMOVED', was: 'ready' });
    expect(notices).toEqual(['token.removed']);
    expect(wiped(typed)).toBe(true);
    expect(signer().killed).toBe(true);
    expect(await manager.sign(signRequest)).toEqual({ kind: 'not-sent' });

    signer().exit(null, 'SIGKILL');
    await vi.advanceTimersByTimeAsync(POLL_MS - 1);
    expect(signers).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(signers).toHaveLength(2);

    // The token back: the PIN is asked again (it was wiped), and its return is worth telling.
    signer().foundToken(tokenInfo());
    expect(pins.asks).toHaveLength(2);
    expect(notices).toEqual(['token.removed', 'token.inserted']);
  });

  it('starts the next signer as soon as the killed one exits when the token was attached meanwhile', async () => {
    await logIn();
    signer().presence = { ok: false, reason: 'CKR_DEVICE_REMOVED' };
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(signer().killed).toBe(true);

    // Put back while the killed signer is still exiting: no second signer may hold the token yet.
    manager.hotplug('attach');
    expect(events()).toContain('usb.attach');
    expect(signers).toHaveLength(1);

    signer().exit(null, 'SIGKILL');
    await settle();
    expect(signers).toHaveLength(2);
    signer().foundToken(tokenInfo());
    expect(manager.state).toBe('waiting-pin');
  });

  it('restarts a signer that exited while ready, giving the PIN kept to the same token without asking', async () => {
    const typed = await logIn();
    signer().exit(1, null);
    expect(logs.find((r) => r.event === 'signer.exited')).toMatchObject({ code: 1, signal: null });
    expect(manager.state).toBe('absent');
    expect(wiped(typed)).toBe(false);

    await restartedWithKeptPin();
  });

  it('keeps the PIN when a presence check falls between distrusting the signer and its exit, and logs the next one in with it', async () => {
    const typed = await logIn();
    manager.distrustSigner('r1', 'a certificate for another subject');
    expect(signer().killed).toBe(true);
    expect(manager.state).toBe('restarting');
    // The poll comes before the killed signer's exit is seen: its unanswered check says nothing about the token.
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(events()).not.toContain('token.removed');
    expect(wiped(typed)).toBe(false);

    signer().exit(null, 'SIGKILL');
    await restartedWithKeptPin();
  });

  it('grants no turn at the token while a signer caught in a lie is on its way out, and grants it once the next is ready', async () => {
    await logIn();
    const queue = tokenSignQueue(manager, Date.now);
    const first = await queue.turn('r1', 1, Infinity);
    if (first.kind !== 'go') throw new Error(`no turn: ${first.kind}`);
    manager.distrustSigner('r1', 'a certificate for another subject');
    first.release(false);
    let second: string | null = null;
    void queue.turn('r2', 1, Infinity).then((turn) => (second = turn.kind));
    await settle();
    expect(second).toBeNull();

    signer().exit(null, 'SIGKILL');
    expect(logs.find((r) => r.event === 'signer.exited')).toMatchObject({ signal: 'SIGKILL' });
    await restartedWithKeptPin();
    await settle();
    expect(second).toBe('go');
  });

  it('is not ready once a signature comes back unsent from a signer that exited, before its exit is seen', async () => {
    await logIn();
    signer().takesNoRequests = 'exited';
    expect(await manager.sign(signRequest)).toEqual({ kind: 'not-sent' });
    expect(manager.state).toBe('restarting');
    expect(await manager.sign(signRequest)).toEqual({ kind: 'not-sent' });

    signer().exit(1, null);
    expect(manager.state).toBe('absent');
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(signers).toHaveLength(2);
  });

  it('wipes a PIN kept across a signer restart when the signer finds another token, and asks for its PIN', async () => {
    const typed = await logIn();
    signer().exit(1, null);
    await vi.advanceTimersByTimeAsync(POLL_MS);

    const other = tokenInfo({ serial: 'B2' });
    signer().foundToken(other);
    expect(wiped(typed)).toBe(true);
    expect(signer().logins).toEqual([]);
    expect(pins.asks).toHaveLength(2);
    expect(pins.last.token).toEqual(other);
    pins.last.answer('654321');
    await settle();
    expect(signer().logins).toEqual([{ pin: '654321', serial: 'B2', finalTryConfirmed: false }]);
  });

  it('stops signing after repeated token failures and refuses the token until it has been out of its reader', async () => {
    const typed = await logIn();
    for (let i = 1; i < FAILURES_BEFORE_FAILING; i++) {
      signer().signResults.push({ type: 'error', id: 'r1', reason: 'CKR_DEVICE_ERROR', tokenGone: false, deviceError: true });
      expect(await manager.sign(signRequest)).toEqual({ kind: 'failed', reason: 'CKR_DEVICE_ERROR' });
      expect(manager.state).toBe('ready');
    }
    // The last one never returns: the signer's watchdog reports it stuck, then the signer is killed.
    signer().stuck('a token operation did not finish within 30 s');
    expect(manager.state).toBe('failing');
    expect(logs.find((r) => r.event === 'token.failing')).toMatchObject({ tokenSerial: 'A1', failures: FAILURES_BEFORE_FAILING });
    expect(notices).toEqual(['token.failing']);
    expect(wiped(typed)).toBe(true);
    expect(await manager.sign(signRequest)).toEqual({ kind: 'not-sent' });

    signer().exit(null, 'SIGKILL');
    expect(events()).toContain('signer.exited');
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(signers).toHaveLength(2);
    signer().foundToken(tokenInfo());
    expect(manager.state).toBe('failing');
    expect(pins.asks).toHaveLength(1);

    // Pulled out: the failed check ends the refusal, and the token put back is asked for its PIN again.
    signer().presence = { ok: false, reason: 'CKR_TOKEN_NOT_PRESENT' };
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(manager.state).toBe('absent');
    signer().exit(null, 'SIGKILL');
    await vi.advanceTimersByTimeAsync(POLL_MS);
    signer().foundToken(tokenInfo());
    expect(manager.state).toBe('waiting-pin');
    expect(pins.asks).toHaveLength(2);
  });

  it('stop() while the PIN is asked: the prompt withdrawn, a PIN typed late wiped, the signer stopped and not restarted', async () => {
    manager.start();
    signer().foundToken(tokenInfo());
    const prompt = pins.last;
    manager.stop();
    expect(manager.state).toBe('stopped');
    expect(prompt.cancelled.aborted).toBe(true);
    expect(prompt.cancelled.reason).toBe('stopped');
    expect(signer().stopped).toBe(true);

    const late = prompt.answer('123456');
    await settle();
    expect(wiped(late)).toBe(true);
    expect(signer().logins).toEqual([]);

    signer().exit(0, null);
    await vi.advanceTimersByTimeAsync(3 * POLL_MS);
    expect(signers).toHaveLength(1);
    expect(manager.state).toBe('stopped');
    expect(events()).not.toContain('signer.exited');
  });

  it('stop() while ready wipes the PIN kept and stops the signer', async () => {
    const typed = await logIn();
    manager.stop();
    expect(manager.state).toBe('stopped');
    expect(wiped(typed)).toBe(true);
    expect(signer().stopped).toBe(true);
    expect(await manager.sign(signRequest)).toEqual({ kind: 'not-sent' });
  });
});
