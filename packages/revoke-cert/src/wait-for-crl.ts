/**
 * Waits (bounded) until the server has moved every queued entry to done/, reading the CRL numbers. Woken by inotify
 * on done/ as soon as the server writes there; a slow poll stays behind it in case a watch cannot be had or misses.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readDoneEntry, type QueueLayout } from '@etoken-ca/contract/io/revocation-queue-dir';
import type { DoneEntry } from '@etoken-ca/contract/core/revocation-queue';

const FALLBACK_POLL_MS = 500;

/** The done entries in the order of `ids`; null when time ran out first. */
export function waitForDone(layout: QueueLayout, ids: readonly string[], timeoutMs: number): Promise<DoneEntry[] | null> {
  const allDone = (): DoneEntry[] | null => {
    const done = ids.map((id) => readDoneEntry(layout, id));
    return done.every((d): d is DoneEntry => d !== null) ? done : null;
  };
  return new Promise((resolve) => {
    let watcher: FSWatcher | null = null;
    const finish = (result: DoneEntry[] | null): void => {
      watcher?.close();
      clearInterval(poll);
      clearTimeout(deadline);
      resolve(result);
    };
    const check = (): void => {
      const done = allDone();
      if (done) finish(done);
    };
    const poll = setInterval(check, FALLBACK_POLL_MS);
    const deadline = setTimeout(() => finish(allDone()), timeoutMs);
    try {
      watcher = watch(layout.done, { persistent: false }, check);
      watcher.on('error', () => undefined);
    } catch {
      // No watch: the poll alone.
    }
    check();
  });
}
