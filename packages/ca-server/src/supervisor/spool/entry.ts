/**
 * Reads one published request from the spool, treating every entry as an
 * attack until checked (Postfix pickup style). The lock must be a symlink
 * naming a live process of its owner; the request is opened
 * O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY (a FIFO or device never blocks us)
 * and checked on the descriptor: regular file, same owner as the lock, one
 * link, size within bound, unchanged while read. Read once, synchronously:
 * a checked regular file cannot block.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { lockFile, parseLockTarget, requestFile, type LockOwner, type SpoolLayout } from '@etoken-ca/contract/core/spool';

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export type SpoolEntry =
  /** `startedMs`: the request file's mtime, when its client's time limit started (the client's to set). */
  | { readonly ok: true; readonly bytes: Buffer; readonly owner: LockOwner; readonly uid: number; readonly startedMs: number }
  /** `gone`: the client removed its files (gave up); nothing to answer. */
  | { readonly ok: false; readonly reason: string; readonly gone: boolean };

export interface EntryPorts {
  /** Whether the lock's process still runs as the lock's owner. */
  readonly ownerAlive: (owner: LockOwner, uid: number) => boolean;
}

function refuse(reason: string, gone = false): SpoolEntry {
  return { ok: false, reason, gone };
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

export function readSpoolEntry(layout: SpoolLayout, id: string, maxSize: number, ports: EntryPorts): SpoolEntry {
  const lockPath = lockFile(layout, id);
  const lock = lstatOrNull(lockPath);
  if (!lock) return refuse('lock vanished', true);
  if (!lock.isSymbolicLink()) return refuse('lock is not a symlink');
  if (lock.uid === 0) return refuse('lock owned by root');
  let owner: LockOwner | null;
  try {
    owner = parseLockTarget(readlinkSync(lockPath));
  } catch {
    return refuse('lock vanished', true);
  }
  if (!owner) return refuse('lock target is not pid.starttime');
  if (!ports.ownerAlive(owner, lock.uid)) return refuse('lock owner is not running', true);

  const path = requestFile(layout, id);
  const pre = lstatOrNull(path);
  if (!pre) return refuse('request file missing');
  if (!pre.isFile()) return refuse('request is not a regular file');
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    return refuse(`request cannot be opened (${(e as NodeJS.ErrnoException).code})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return refuse('request is not a regular file');
    if (st.dev !== pre.dev || st.ino !== pre.ino) return refuse('request replaced while opened');
    if (st.uid !== lock.uid) return refuse('request and lock have different owners');
    if (st.nlink !== 1) return refuse('request has more than one link');
    // Writable by others, its bytes could change between our read and our decision.
    if ((st.mode & 0o022) !== 0) return refuse('request is writable by group or others');
    if (st.size === 0) return refuse('request is empty');
    if (st.size > maxSize) return refuse(`request larger than ${maxSize} bytes`);
    const bytes = Buffer.alloc(st.size);
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, got);
      if (n === 0) break;
      got += n;
    }
    const after = fstatSync(fd);
    if (got !== st.size || after.size !== st.size || after.mtimeMs !== st.mtimeMs) return refuse('request changed while read');
    return { ok: true, bytes, owner, uid: lock.uid, startedMs: st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}
