/**
 * The front ends' side of a spool, file by file: the same code for the
 * MyProxy client and the SCEP server, each on its own spool. A request is
 * created O_EXCL|O_NOFOLLOW in the sticky incoming/ and written whole before
 * its lock (a symlink naming the waiting process) publishes it; an answer is
 * read only from a regular file of root's, opened without following links
 * or blocking on a FIFO. Errors are thrown as node:fs throws them: each
 * front end says what they mean to its own users.
 */
import { closeSync, constants, fstatSync, futimesSync, openSync, readFileSync, readSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { EtokenError, ExitCode } from '../core/exit-codes.js';
import { answerFile, formatLockTarget, lockFile, requestFile, startTimeFromStat, type SpoolLayout } from '../core/spool.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_NONBLOCK, O_NOCTTY } = constants;
const REQUEST_FILE_MODE = 0o640;

/**
 * Creates `<id>.req` and writes it completely; a partial file is removed. `write` writes the whole buffer to the
 * descriptor. `startedAt` (ms) becomes the file's mtime: when the front end's own time limit started to run, from
 * which the server counts the request's deadline (CLIENT_TIMEOUT later).
 */
export function createRequestFile(
  layout: SpoolLayout,
  id: string,
  bytes: Buffer,
  write: (fd: number, data: Buffer) => void = writeWhole,
  startedAt?: number,
): void {
  const path = requestFile(layout, id);
  const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, REQUEST_FILE_MODE);
  try {
    write(fd, bytes);
    if (startedAt !== undefined) futimesSync(fd, startedAt / 1000, startedAt / 1000);
  } catch (e) {
    removeQuietly(path);
    throw e;
  } finally {
    closeSync(fd);
  }
}

function writeWhole(fd: number, data: Buffer): void {
  for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset, data.length - offset);
}

/** Publishes a written request: the lock names the process that waits for its answer. */
export function publishLock(layout: SpoolLayout, id: string, target: string): void {
  symlinkSync(target, lockFile(layout, id));
}

/** The answer's bytes, or null while there is none, or when what is there is not a regular file of root's within `maxBytes`. */
export function readAnswerBytes(layout: SpoolLayout, id: string, maxBytes: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(answerFile(layout, id), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  } catch {
    return null;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== 0 || stat.size > maxBytes) return null;
    const buffer = Buffer.alloc(stat.size);
    // One read: a short one leaves a torn answer, which its parser refuses, and the next look reads again.
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, length);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Our own files in a sticky directory: a failure here can only mean the file is already gone. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone; the server also removes the files of front ends that died.
  }
}

/** This process as a lock target: pid and start time, so the server can tell a live front end from a reused pid. */
export function ownLockTarget(): string {
  let startTime: string | null = null;
  try {
    startTime = startTimeFromStat(readFileSync('/proc/self/stat', 'latin1'));
  } catch {
    // Reported below: the server needs the start time to recover locks safely.
  }
  if (!startTime) throw new EtokenError(ExitCode.software, 'cannot read this process start time from /proc/self/stat');
  return formatLockTarget({ pid: process.pid, startTime });
}
