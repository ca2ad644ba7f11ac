/**
 * Who gets the token next. Admitted requests wait here, served in arrival
 * order (round-robin across the accounts that send them), and only a few at
 * a time are with the signer: enough to keep the token busy, few enough that
 * a request is sent only when it is about to be signed. The token's time goes
 * to clients still waiting:
 *   - each request has a deadline (its client's start plus CLIENT_TIMEOUT,
 *     less a margin to deliver the answer), and is given the token only if
 *     it can be signed before it;
 *   - the time one request takes is measured as the token serves them, and a
 *     request that cannot be reached before its deadline is refused at once
 *     as busy (when it arrives, or as soon as the measure says so), instead
 *     of waiting for a turn its client will not be there for;
 *   - one whose client left (its lock removed) leaves the queue.
 * While the token is not ready (absent, waiting for its PIN) requests wait,
 * and leave when their deadline passes; while it is failing they are refused.
 * Every certificate signature takes its turn here, MyProxy's and SCEP's: the
 * measure and the deadlines hold only if nothing else reaches the token.
 */
import { FairQueue } from './core/fair-queue.js';

/** The token's state as far as the queue cares. */
export type TokenAvailability = 'ready' | 'failing' | 'not-ready';

export type Turn =
  /**
   * Sign now; `release` when the signature is over (or was not made), so the next one can go, with the token's
   * own time over it when the signer measured it.
   */
  | { readonly kind: 'go'; readonly release: (signed: boolean, tokenMs?: number) => void }
  /** It cannot be signed before its deadline: refuse it now. */
  | { readonly kind: 'busy'; readonly queued: number }
  /** Its client left: the lock was removed, or the deadline passed while the token was not ready. */
  | { readonly kind: 'gone'; readonly why: 'departed' | 'expired' }
  /** The token is failing: refuse it now. */
  | { readonly kind: 'unavailable' }
  /** The server is stopping: refuse it now, the client may try again once it is back. */
  | { readonly kind: 'stopping' };

export interface SignQueueOptions {
  /** Wall-clock ms, the clock deadlines are in. */
  readonly now: () => number;
  readonly availability: () => TokenAvailability;
}

/** The token as the queue watches it (token-manager.ts). */
export interface WatchedToken {
  readonly state: string;
  onStateChange(listener: () => void): void;
}

const AVAILABILITY: Readonly<Record<string, TokenAvailability>> = { ready: 'ready', failing: 'failing' };

/** The one queue of a server, woken whenever the token's state changes. */
export function tokenSignQueue(token: WatchedToken, now: () => number): SignQueue {
  const queue = new SignQueue({ now, availability: () => AVAILABILITY[token.state] ?? 'not-ready' });
  token.onStateChange(() => queue.wake());
  return queue;
}

interface Waiting {
  readonly id: string;
  readonly account: number;
  readonly deadline: number;
  readonly resolve: (turn: Turn) => void;
}

const FAST_WINDOW = 16;
const SLOW_WINDOW = 2;
/** Weight of the newest measurement in the running estimate of one request's token time. */
const EWMA = 0.3;
/** The signer's own work between two signatures, on top of the token's time: a share of it and a little more. */
const SIGNER_SHARE = 1.05;
const SIGNER_MS = 1;
/** Requests given to the signer at most: about this much token time. */
const BUFFER_MS = 1000;
const PRUNE_EVERY_MS = 100;
const PRUNE_TIMER_MS = 500;

export class SignQueue {
  private readonly waiting = new FairQueue<Waiting>();
  private held = 0;
  /** Estimated ms of token time per request; 0 until measured. */
  private serviceMs = 0;
  private lastSignedAt = 0;
  private lastPrune = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly o: SignQueueOptions) {}

  /** The server is stopping: what waits is refused, and so is what comes; what is with the token finishes. */
  close(): void {
    this.closed = true;
    for (let w = this.waiting.shift(); w; w = this.waiting.shift()) w.resolve({ kind: 'stopping' });
  }

  /** Requests waiting for the token, and requests with it. */
  get queued(): number {
    return this.waiting.size + this.held;
  }

  /** The measured token time of one request, ms (0: not measured yet). */
  get perRequestMs(): number {
    return this.serviceMs;
  }

  /**
   * A turn at the token for request `id`, which must be signed by `deadline` (its client's, less the time to record
   * and deliver the answer; Infinity when no one waits); `again` puts it at the head (it was taken and not sent).
   */
  turn(id: string, account: number, deadline: number, again = false): Promise<Turn> {
    if (this.closed) return Promise.resolve({ kind: 'stopping' });
    const availability = this.o.availability();
    if (availability === 'failing') return Promise.resolve({ kind: 'unavailable' });
    if (!again && availability === 'ready' && this.serviceMs > 0) {
      const ahead = this.held + this.waiting.aheadOfNew(account);
      if (this.o.now() + (ahead + 1) * this.serviceMs > deadline) return Promise.resolve({ kind: 'busy', queued: this.queued });
    }
    return new Promise((resolve) => {
      const entry = { id, account, deadline, resolve };
      if (again) this.waiting.unshift(entry);
      else this.waiting.push(entry);
      this.drain();
      this.keepWatching();
    });
  }

  /** The client of `id` removed its lock: if it is still waiting, it leaves. */
  departed(id: string): void {
    this.waiting.remove((w) => w.id === id)?.resolve({ kind: 'gone', why: 'departed' });
  }

  /** The token's state changed. */
  wake(): void {
    if (this.o.availability() === 'failing') {
      for (let w = this.waiting.shift(); w; w = this.waiting.shift()) w.resolve({ kind: 'unavailable' });
      return;
    }
    this.prune(true);
    this.drain();
  }

  /** About BUFFER_MS of work with the signer, so that a supervisor held up for a moment does not leave the token idle. */
  private window(): number {
    if (this.serviceMs === 0) return FAST_WINDOW;
    return Math.min(FAST_WINDOW, Math.max(SLOW_WINDOW, Math.ceil(BUFFER_MS / this.serviceMs)));
  }

  private drain(): void {
    if (this.o.availability() !== 'ready') return;
    while (this.held < this.window()) {
      const next = this.waiting.shift();
      if (!next) return;
      const now = this.o.now();
      if (now >= next.deadline) next.resolve({ kind: 'gone', why: 'expired' });
      else if (this.serviceMs > 0 && now + (this.held + 1) * this.serviceMs > next.deadline) next.resolve({ kind: 'busy', queued: this.queued });
      else this.grant(next, now);
    }
  }

  private grant(entry: Waiting, grantedAt: number): void {
    this.held++;
    let released = false;
    entry.resolve({
      kind: 'go',
      release: (signed, tokenMs) => {
        if (released) return;
        released = true;
        this.held--;
        if (signed) this.measure(grantedAt, tokenMs);
        this.prune(false);
        this.drain();
      },
    });
  }

  /**
   * One signature's time at the token: as the signer measured the token (plus the signer's own work), or else from
   * when the token could start on it (granted, or the previous one done) to its end. The signer's figure is the one
   * to trust: a busy supervisor reads answers late and in bunches.
   */
  private measure(grantedAt: number, tokenMs: number | undefined): void {
    const now = this.o.now();
    const sample = tokenMs !== undefined ? tokenMs * SIGNER_SHARE + SIGNER_MS : Math.max(0.01, now - Math.max(grantedAt, this.lastSignedAt));
    this.lastSignedAt = now;
    this.serviceMs = this.serviceMs === 0 ? sample : this.serviceMs + EWMA * (sample - this.serviceMs);
  }

  /** Refuses the waiting requests that can no longer be signed in time; those whose deadline passed leave. */
  private prune(force: boolean): void {
    const now = this.o.now();
    if (this.waiting.size === 0 || (!force && now - this.lastPrune < PRUNE_EVERY_MS)) return;
    this.lastPrune = now;
    const estimate = this.o.availability() === 'ready' && this.serviceMs > 0;
    let kept = 0;
    for (const w of this.waiting.order()) {
      const late = now >= w.deadline ? 'expired' : estimate && now + (this.held + kept + 1) * this.serviceMs > w.deadline ? 'busy' : null;
      if (!late) {
        kept++;
        continue;
      }
      this.waiting.remove((x) => x === w);
      w.resolve(late === 'expired' ? { kind: 'gone', why: 'expired' } : { kind: 'busy', queued: this.queued });
    }
  }

  /** While requests wait, deadlines pass even when nothing else happens. */
  private keepWatching(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.waiting.size === 0) {
        clearInterval(this.timer!);
        this.timer = null;
        return;
      }
      this.prune(true);
      this.drain();
    }, PRUNE_TIMER_MS);
    this.timer.unref();
  }
}
