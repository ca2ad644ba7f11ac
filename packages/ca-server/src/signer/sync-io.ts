/**
 * Blocking reads and writes on the signer's inherited pipes. The signer
 * serves one request at a time and does nothing else, so blocking calls keep
 * the per-certificate path free of event-loop hops.
 */
import { readSync, writeSync } from 'node:fs';

// EAGAIN only happens on a pipe someone made non-blocking; retrying gives the blocking behaviour wanted here.
function readChunk(fd: number, chunk: Buffer): number {
  for (;;) {
    try {
      return readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

/** Everything until EOF; more than maxBytes is an error. The caller owns (and must zero) the result. */
export function readAllSync(fd: number, maxBytes: number): Buffer {
  const out = Buffer.alloc(maxBytes + 1);
  let length = 0;
  for (;;) {
    const n = readChunk(fd, out.subarray(length));
    if (n === 0) return out.subarray(0, length);
    length += n;
    if (length > maxBytes) {
      out.fill(0);
      throw new Error(`more than ${maxBytes} bytes on fd ${fd}`);
    }
  }
}

/** Calls onLine for each complete line until EOF. A line longer than maxLine is an error. */
export function forEachLineSync(fd: number, maxLine: number, onLine: (line: string) => void): void {
  const chunk = Buffer.alloc(65536);
  let pending = Buffer.alloc(0);
  for (;;) {
    const n = readChunk(fd, chunk);
    if (n === 0) return;
    pending = pending.length ? Buffer.concat([pending, chunk.subarray(0, n)]) : Buffer.from(chunk.subarray(0, n));
    let start = 0;
    for (let end = pending.indexOf(0x0a); end >= 0; end = pending.indexOf(0x0a, start)) {
      onLine(pending.toString('utf8', start, end));
      start = end + 1;
    }
    pending = pending.subarray(start);
    if (pending.length > maxLine) throw new Error(`request line longer than ${maxLine} bytes`);
  }
}

export function writeLineSync(fd: number, text: string): void {
  const bytes = Buffer.from(`${text}\n`, 'utf8');
  for (let offset = 0; offset < bytes.length; ) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}
