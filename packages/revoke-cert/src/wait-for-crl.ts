/** Waits (bounded) until the server has moved every queued entry to done/, reading the CRL numbers. */
import { readDoneEntry, type QueueLayout } from '@etoken-ca/contract/io/revocation-queue-dir';
import type { DoneEntry } from '@etoken-ca/contract/core/revocation-queue';

const POLL_MS = 100;

/** The done entries in the order of `ids`; null when time ran out first. */
export async function waitForDone(layout: QueueLayout, ids: readonly string[], timeoutMs: number): Promise<DoneEntry[] | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = ids.map((id) => readDoneEntry(layout, id));
    if (done.every((d): d is DoneEntry => d !== null)) return done;
    if (Date.now() >= deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
