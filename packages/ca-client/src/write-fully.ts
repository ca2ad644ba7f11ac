/** Synchronous writes that finish: partial writes continue, and a non-blocking descriptor that is full is waited on. */
import { writeSync } from 'node:fs';

const FULL_PIPE_PAUSE_MS = 5;
const pause = new Int32Array(new SharedArrayBuffer(4));

export function writeFully(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset, data.length - offset);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      // stdout may be a non-blocking pipe someone else made; wait for the reader without spinning.
      Atomics.wait(pause, 0, 0, FULL_PIPE_PAUSE_MS);
    }
  }
}
