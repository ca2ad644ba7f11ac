/**
 * Waiting for `<id>.answer`: a watch on the answers directory wakes the
 * client at once; a poll backs it up (slowly while the watch works, since
 * inotify drops events silently when its queue overflows; every 100 ms when
 * there is no watch at all).
 */
import { ANSWER_SUFFIX, type Answer } from '@etoken-ca/contract/core/spool';
import type { Clock, SpoolPort } from './ports.js';

export const SAFETY_POLL_MS = 1000;
export const FALLBACK_POLL_MS = 100;

export interface AnswerWait {
  /** The answer, or null once the wait is stopped or `signal` aborts with none there. */
  readonly answer: Promise<Answer | null>;
  /** Looks for the answer now (right after publishing: the server may already have answered). */
  checkNow(): void;
  stop(): void;
}

/** Starts watching before the request is published, so no answer can slip by. */
export function waitForAnswer(spool: SpoolPort, clock: Clock, id: string, signal: AbortSignal): AnswerWait {
  const answerName = id + ANSWER_SUFFIX;
  let settle: (answer: Answer | null) => void = () => undefined;
  const answer = new Promise<Answer | null>((resolve) => (settle = resolve));
  let done = false;
  let poll: unknown = null;

  const finish = (result: Answer | null): void => {
    if (done) return;
    done = true;
    watch?.close();
    clock.clear(poll);
    signal.removeEventListener('abort', onAbort);
    settle(result);
  };
  // One last look before giving up: an answer that came with the deadline (the timer and the watch event ready
  // in the same turn of a busy machine) is not thrown away.
  const onAbort = (): void => finish(done ? null : spool.readAnswer(id));
  const checkNow = (): void => {
    if (done) return;
    const found = spool.readAnswer(id);
    if (found) finish(found);
  };
  const pollEvery = (ms: number): void => {
    clock.clear(poll);
    poll = clock.setInterval(checkNow, ms);
  };

  let watch = spool.watchAnswers(
    (changed) => {
      if (changed === null || changed === answerName) checkNow();
    },
    () => {
      watch = null;
      pollEvery(FALLBACK_POLL_MS);
    },
  );
  pollEvery(watch ? SAFETY_POLL_MS : FALLBACK_POLL_MS);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return { answer, checkNow, stop: () => finish(null) };
}
