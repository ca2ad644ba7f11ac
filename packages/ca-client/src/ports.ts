/** What the client's core needs from the outside world; node-spool.ts and system-clock.ts are the real ones. */
import type { Answer } from '@etoken-ca/contract/core/spool';

/** The client's view of the spool. Failures are thrown as EtokenError with the exit code to use. */
export interface SpoolPort {
  /** Creates `<id>.req` exclusively (never through a symlink) and writes it completely. */
  createRequest(id: string, bytes: Buffer): void;
  /** Creates the `<id>.lock` symlink, which publishes the request. */
  publishLock(id: string, target: string): void;
  /**
   * Watches the answers directory; `onChange` gets the name that changed (null: unknown).
   * Returns null when watching is impossible (inotify limits), and calls `onBroken` when a
   * watch stops working: the caller polls instead.
   */
  watchAnswers(onChange: (name: string | null) => void, onBroken: () => void): { close(): void } | null;
  /** The answer for `id` if a complete one from the server is there, else null. */
  readAnswer(id: string): Answer | null;
  /** Both ignore a file that is already gone. */
  removeLock(id: string): void;
  removeRequest(id: string): void;
}

export interface Clock {
  setTimeout(callback: () => void, ms: number): unknown;
  setInterval(callback: () => void, ms: number): unknown;
  clear(timer: unknown): void;
}
