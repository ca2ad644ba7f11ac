/**
 * Writes whose every count is checked. libuv writes the rest of a short
 * write at once, and when that second write fails Node returns the short
 * count without its error: a count below what was asked is a failed write,
 * and asking again for the rest gives the error itself (ENOSPC, EIO).
 * Descriptors are forgotten before they are closed, so none is used after
 * its number may have been given to another file.
 */
import { close, closeSync, constants, fsync, open, openSync, rename, unlink, write } from 'node:fs';
import { promisify } from 'node:util';
import { closeQuietly } from '@etoken-ca/contract/io/atomic-file';

const writeAsync = promisify(write);
const openAsync = promisify(open);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

/** writeAll, on libuv's threadpool. */
export async function writeAllAsync(fd: number, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    const { bytesWritten } = await writeAsync(fd, data, offset, data.length - offset);
    if (bytesWritten <= 0) throw Object.assign(new Error(`write returned ${bytesWritten}`), { code: 'EIO' });
    offset += bytesWritten;
  }
}

/**
 * Opens `path` read-only, fsyncs it (data and, for a directory, its entries) and closes it. Only the fsync waits
 * on the disk, on libuv's threadpool; the open and close of a file in CA_DIR are done at once, so flushing a
 * checkpoint's thousands of newcerts/ files takes one turn of a main thread busy issuing per file, not three.
 */
export async function fsyncPath(path: string, directory = false): Promise<void> {
  const fd = openSync(path, constants.O_RDONLY | (directory ? constants.O_DIRECTORY : 0));
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}

const renameAsync = promisify(rename);
const unlinkAsync = promisify(unlink);

/**
 * writeFileAtomic (contract io/atomic-file.ts) off the main thread, for a file written while requests are served
 * (the checkpoint): the same steps on libuv's thread pool.
 */
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
