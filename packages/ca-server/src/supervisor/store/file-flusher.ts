/**
 * Flushes many files at once (a checkpoint's newcerts/ files), then their
 * directories, on libuv's threadpool, FLUSH_LANES files at a time: each lane
 * opens, fsyncs and closes one file after the other, so a checkpoint never
 * takes more than that many of the pool's threads, and the journal's
 * flushes, which run there too, always find one free. Lanes rather than one
 * file at a time: under load every step waits for a turn of a main thread
 * busy issuing. Stops at the first failure, naming the file.
 */
import { fsyncPath } from './checked-io.js';

/** Of libuv's 4 threads (UV_THREADPOOL_SIZE), the ones a checkpoint's flushes may hold at once. */
const FLUSH_LANES = 2;

async function flushOne(path: string, directory: boolean): Promise<void> {
  try {
    await fsyncPath(path, directory);
  } catch (e) {
    const error = e as NodeJS.ErrnoException;
    throw Object.assign(new Error(`${path}: ${error.message}`), { code: error.code ?? 'EIO' });
  }
}

/** Resolves once every file, then every directory, is flushed; rejects with the first failure (its errno as `code`). */
export async function flushFiles(paths: readonly string[], directories: readonly string[]): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < paths.length) {
      try {
        await flushOne(paths[next++]!, false);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FLUSH_LANES, paths.length) }, lane));
  for (const directory of directories) await flushOne(directory, true);
}
