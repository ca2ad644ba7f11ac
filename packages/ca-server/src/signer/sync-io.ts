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

/**
 * Calls onLine for each complete line until EOF. A line longer than maxLine
 * is an error. A long line (a large CRL) is gathered as a list of chunks and
 * joined once, not re-copied per chunk.
 */
export function forEachLineSync(fd: number, maxLine: number, onLine: (line: string) => void): void {
  const chunk = Buffer.alloc(65536);
  let parts: Buffer[] = [];
  let pendingLength = 0;
  for (;;) {
    const n = readChunk(fd, chunk);
    if (n === 0) return;
    let data = chunk.subarray(0, n);
    for (let end = data.indexOf(0x0a); end >= 0; end = data.indexOf(0x0a)) {
      const head = data.subarray(0, end);
      onLine((parts.length ? Buffer.concat([...parts, head]) : head).toString('utf8'));
      parts = [];
      pendingLength = 0;
      data = data.subarray(end + 1);
    }
    if (data.length > 0) {
      parts.push(Buffer.from(data));
      pendingLength += data.length;
    }
    if (pendingLength > maxLine) throw new Error(`request line longer than ${maxLine} bytes`);
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
