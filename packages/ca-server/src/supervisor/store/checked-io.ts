/**
 * Writes whose every count is checked. libuv writes the rest of a short
 * write at once, and when that second write fails Node returns the short
 * count without its error: a count below what was asked is a failed write,
 * and asking again for the rest gives the error itself (ENOSPC, EIO).
 * Descriptors are forgotten before they are closed, so none is used after
 * its number may have been given to another file.
 */
import { close, closeSync, constants, fsync, fsyncSync, open, openSync, rename, renameSync, unlink, unlinkSync, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';

const writeAsync = promisify(write);
const openAsync = promisify(open);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

/** Writes all of `data` at the descriptor's position (O_APPEND: at the end), or throws the error that stopped it. */
export function writeAll(fd: number, data: Uint8Array): void {
  for (let offset = 0; offset < data.length; ) {
    const n = writeSync(fd, data, offset, data.length - offset);
    if (n <= 0) throw Object.assign(new Error(`write returned ${n}`), { code: 'EIO' });
    offset += n;
  }
}

/** writeAll, on libuv's threadpool. */
export async function writeAllAsync(fd: number, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    const { bytesWritten } = await writeAsync(fd, data, offset, data.length - offset);
    if (bytesWritten <= 0) throw Object.assign(new Error(`write returned ${bytesWritten}`), { code: 'EIO' });
    offset += bytesWritten;
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

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Opens `path` read-only, fsyncs it (data and, for a directory, its entries) and closes it, off the main thread. */
export async function fsyncPath(path: string, directory = false): Promise<void> {
  const fd = await openAsync(path, constants.O_RDONLY | (directory ? constants.O_DIRECTORY : 0));
  try {
    await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
}

/**
 * Writes a file atomically in a root-only directory: temp, every write
 * checked, fsync, rename. Large contents come as pieces, never as one
 * string. On any failure the temp file goes and the old file stays as it
 * was. The rename is durable only once the caller fsyncs the directory.
 * Returns the bytes written.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | Iterable<string | Uint8Array>, mode = 0o644): number {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  let bytes = 0;
  try {
    const pieces = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
    for (const piece of pieces) {
      const buffer = typeof piece === 'string' ? Buffer.from(piece) : piece;
      writeAll(fd, buffer);
      bytes += buffer.length;
    }
    fsyncSync(fd);
  } catch (e) {
    closeQuietly(fd);
    unlinkQuietly(tmp);
    throw e;
  }
  try {
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    unlinkQuietly(tmp);
    throw e;
  }
  return bytes;
}

const renameAsync = promisify(rename);
const unlinkAsync = promisify(unlink);

/** writeFileAtomic off the main thread, for a file written while requests are served (the checkpoint). */
export async function writeFileAtomicAsync(path: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const tmp = `${path}.tmp`;
  const fd = await openAsync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    await writeAllAsync(fd, data);
    await fsyncAsync(fd);
  } catch (e) {
    closeQuietly(fd);
    await unlinkAsync(tmp).catch(() => undefined);
    throw e;
  }
  try {
    await closeAsync(fd);
    await renameAsync(tmp, path);
  } catch (e) {
    await unlinkAsync(tmp).catch(() => undefined);
    throw e;
  }
}
