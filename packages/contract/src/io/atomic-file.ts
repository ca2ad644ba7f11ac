/**
 * The one way the product replaces a file: written whole under a temp name,
 * every write's count checked, owner and mode set before a byte is written,
 * flushed, then renamed into place, so that a reader sees the old file or the
 * new one, never a part. On any failure the temp file goes and the old file
 * stays as it was. The rename itself is durable once the caller fsyncs the
 * directory (one fsync for many files).
 *
 * The temp file is created new (O_EXCL, never through a symlink): one left by
 * a crash is removed first, so its name must be one only this writer uses.
 */
import { closeSync, constants, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

export interface AtomicFileOptions {
  readonly mode: number;
  /** Given to the file before it is visible; root's (the writer's) when left out. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** Flushed before the rename (the default); false for files that need not outlive a power cut (spool answers). */
  readonly flush?: boolean;
  /** The temp file's path, in the same directory (default `<path>.tmp`): one a sweeper or a queue's reader knows. */
  readonly tempPath?: string;
}

export interface PreparedFile {
  /** Bytes written. */
  readonly bytes: number;
  /** Renames it into place. */
  publish(): void;
  /** Removes it unseen. */
  discard(): void;
}

export type FileContent = string | Uint8Array | Iterable<string | Uint8Array>;

/**
 * Writes all of `data` at the descriptor's position, or throws the error that stopped it. libuv writes the rest of
 * a short write at once, and when that second write fails Node returns the short count without its error: a count
 * below what was asked is a failed write, and asking again for the rest gives the error itself (ENOSPC, EIO).
 */
export function writeAll(fd: number, data: Uint8Array): void {
  for (let offset = 0; offset < data.length; ) {
    const n = writeSync(fd, data, offset, data.length - offset);
    if (n <= 0) throw Object.assign(new Error(`write returned ${n}`), { code: 'EIO' });
    offset += n;
  }
}

/** Closes a descriptor whose failure no longer matters (the operation already failed or is done). */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing to do: the number is not used again either way
  }
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}

/** Writes the file under its temp name, complete and (by default) flushed; nothing is visible until publish(). */
export function prepareFile(path: string, data: FileContent, o: AtomicFileOptions): PreparedFile {
  const temp = o.tempPath ?? `${path}.tmp`;
  unlinkQuietly(temp);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  let bytes = 0;
  let open = true;
  try {
    if (o.owner) fchownSync(fd, o.owner.uid, o.owner.gid);
    fchmodSync(fd, o.mode);
    const pieces = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
    for (const piece of pieces) {
      const buffer = typeof piece === 'string' ? Buffer.from(piece) : piece;
      writeAll(fd, buffer);
      bytes += buffer.length;
    }
    if (o.flush !== false) fsyncSync(fd);
    // Forgotten before it is closed: a number closed once may be another file's (the thread pool opens files) by now.
    open = false;
    closeSync(fd);
  } catch (e) {
    if (open) closeQuietly(fd);
    unlinkQuietly(temp);
    throw e;
  }
  return {
    bytes,
    publish(): void {
      try {
        renameSync(temp, path);
      } catch (e) {
        unlinkQuietly(temp);
        throw e;
      }
    },
    discard: () => unlinkQuietly(temp),
  };
}

/** Makes the names created, renamed or removed in `dir` durable: one flush for all the files just written there. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** prepareFile and publish at once; returns the bytes written. */
export function writeFileAtomic(path: string, data: FileContent, o: AtomicFileOptions): number {
  const prepared = prepareFile(path, data, o);
  prepared.publish();
  return prepared.bytes;
}
