/**
 * The revocation queue directory on disk, as both revoke-cert and the server
 * see it: created root-only, refused when anyone else could write into it.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { EtokenError, ExitCode } from '../core/exit-codes.js';
import { fsyncDirectory, writeFileAtomic } from './atomic-file.js';
import {
  DONE_DIR,
  formatQueueEntry,
  parseDoneEntry,
  QUEUE_DIR_MODE,
  queueEntryName,
  queueIdOf,
  queueTempName,
  type DoneEntry,
  type RevocationRequest,
} from '../core/revocation-queue.js';

export interface QueueLayout {
  readonly dir: string;
  readonly done: string;
}

export function queueLayout(dir: string): QueueLayout {
  return { dir, done: join(dir, DONE_DIR) };
}

function checkRootOnly(dir: string): void {
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o077) !== 0) {
    throw new EtokenError(ExitCode.cantCreate, `${dir} must be a directory owned by root with mode 0700`);
  }
}

/** Creates the queue and done/ (0700, root) if missing; refuses a directory others can reach. */
export function ensureQueueDir(layout: QueueLayout): void {
  try {
    mkdirSync(layout.done, { recursive: true, mode: QUEUE_DIR_MODE });
  } catch (e) {
    throw new EtokenError(ExitCode.cantCreate, `cannot create ${layout.done}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  checkRootOnly(layout.dir);
  checkRootOnly(layout.done);
}

/** Writes a file completely under a temp name, flushes it, then renames it into place. */
export function writeDurably(dir: string, tempName: string, finalName: string, text: string): void {
  writeFileAtomic(join(dir, finalName), text, { mode: 0o600, tempPath: join(dir, tempName) });
}

/** Queues one revocation: the server sees the whole entry or nothing. The caller fsyncs the directory once for all. */
export function writeQueueEntry(layout: QueueLayout, request: RevocationRequest): void {
  writeDurably(layout.dir, queueTempName(request.id), queueEntryName(request.id), formatQueueEntry(request));
}

/** Records a processed entry in done/, then removes it from the queue. */
export function moveToDone(layout: QueueLayout, entry: DoneEntry): void {
  writeDurably(layout.done, queueTempName(entry.id), queueEntryName(entry.id), formatQueueEntry(entry));
  fsyncDirectory(layout.done);
  unlinkSync(join(layout.dir, queueEntryName(entry.id)));
}

/** Ids of the pending entries, in no particular order. */
export function pendingIds(layout: QueueLayout): string[] {
  return readdirSync(layout.dir).flatMap((name) => {
    const id = queueIdOf(name);
    return id ? [id] : [];
  });
}

/** The done record of an entry, or null while it is still pending (or unknown). */
export function readDoneEntry(layout: QueueLayout, id: string): DoneEntry | null {
  try {
    return parseDoneEntry(readFileSync(join(layout.done, queueEntryName(id)), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
