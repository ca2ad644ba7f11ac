/**
 * Reads the pending revocation queue. The directory is root-only, yet every
 * entry is checked on its descriptor as spool entries are: opened
 * O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY (a FIFO never blocks us), then
 * fstat: a regular file owned by root, one link, small; then parsed strictly.
 */
import { closeSync, constants, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pendingIds, type QueueLayout } from '@etoken-ca/contract/io/revocation-queue-dir';
import { MAX_QUEUE_ENTRY_BYTES, parseRevocationRequest, queueEntryName, type RevocationRequest } from '@etoken-ca/contract/core/revocation-queue';

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export type QueueEntry = { readonly ok: true; readonly request: RevocationRequest } | { readonly ok: false; readonly reason: string };

export function readQueueEntry(path: string, expectedId: string): QueueEntry {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    return { ok: false, reason: `cannot open (${(e as NodeJS.ErrnoException).code})` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, reason: 'not a regular file' };
    if (st.uid !== 0) return { ok: false, reason: 'not owned by root' };
    if (st.nlink !== 1) return { ok: false, reason: 'more than one link' };
    if (st.size > MAX_QUEUE_ENTRY_BYTES) return { ok: false, reason: `larger than ${MAX_QUEUE_ENTRY_BYTES} bytes` };
    const bytes = Buffer.alloc(st.size);
    const got = st.size === 0 ? 0 : readSync(fd, bytes, 0, bytes.length, 0);
    const request = got === st.size ? parseRevocationRequest(bytes.toString('utf8')) : null;
    if (!request || request.id !== expectedId) return { ok: false, reason: 'not a well-formed revocation entry' };
    return { ok: true, request };
  } finally {
    closeSync(fd);
  }
}

export interface QueueScan {
  /** Oldest request first. */
  readonly requests: readonly RevocationRequest[];
  readonly rejected: readonly { readonly id: string; readonly reason: string }[];
}

/** Every pending entry; rejected ones are removed (nothing a root-only queue should hold). */
export function scanQueue(layout: QueueLayout): QueueScan {
  const requests: RevocationRequest[] = [];
  const rejected: { id: string; reason: string }[] = [];
  for (const id of pendingIds(layout)) {
    const path = join(layout.dir, queueEntryName(id));
    const entry = readQueueEntry(path, id);
    if (entry.ok) {
      requests.push(entry.request);
      continue;
    }
    rejected.push({ id, reason: entry.reason });
    try {
      unlinkSync(path);
    } catch {
      // gone already
    }
  }
  requests.sort((a, b) => a.requestedAt - b.requestedAt);
  return { requests, rejected };
}
