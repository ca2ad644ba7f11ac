/**
 * Newline-delimited lines from a stream, each bounded in length. Hand-written
 * because node:readline buffers a line of any length before handing it over.
 */
import type { Readable } from 'node:stream';

export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`input line longer than ${limit} bytes`);
    this.name = 'LineTooLongError';
  }
}

/** Yields each line without its newline; a last line without one is yielded too. */
export async function* boundedLines(input: Readable, maxBytes: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end >= 0; end = chunk.indexOf(0x0a, start)) {
      if (pendingBytes + end - start > maxBytes) throw new LineTooLongError(maxBytes);
      yield Buffer.concat([...pending, chunk.subarray(start, end)]);
      pending = [];
      pendingBytes = 0;
      start = end + 1;
    }
    pendingBytes += chunk.length - start;
    if (pendingBytes > maxBytes) throw new LineTooLongError(maxBytes);
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}
