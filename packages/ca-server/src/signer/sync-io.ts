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
 * Requests on a pipe: JSON lines, each optionally followed by a binary
 * payload of a length its line announced (a CRL's TBSCertList travels as
 * its own bytes, not as 7 MB of base64 inside JSON). A long line is
 * gathered as a list of chunks and joined once; a payload is read straight
 * into its own buffer.
 */
export class SyncRequestReader {
  private readonly chunk = Buffer.alloc(65536);
  /** Bytes read but not consumed yet: chunk[from, to). */
  private from = 0;
  private to = 0;

  constructor(
    private readonly fd: number,
    private readonly maxLine: number,
  ) {}

  /** The next line without its newline, or null at EOF. A line longer than maxLine is an error. */
  line(): string | null {
    const parts: Buffer[] = [];
    let length = 0;
    for (;;) {
      const end = this.chunk.indexOf(0x0a, this.from);
      if (end >= 0 && end < this.to) {
        const head = this.chunk.subarray(this.from, end);
        this.from = end + 1;
        return (parts.length ? Buffer.concat([...parts, head]) : head).toString('utf8');
      }
      if (this.to > this.from) {
        parts.push(Buffer.from(this.chunk.subarray(this.from, this.to)));
        length += this.to - this.from;
      }
      if (length > this.maxLine) throw new Error(`request line longer than ${this.maxLine} bytes`);
      if (!this.fill()) return null;
    }
  }

  /** Whether a whole line is buffered already: line() would return it without reading. */
  hasLine(): boolean {
    const end = this.chunk.indexOf(0x0a, this.from);
    return end >= 0 && end < this.to;
  }

  /** Exactly `count` bytes, the payload its line announced. EOF before them is an error. */
  bytes(count: number): Buffer {
    const out = Buffer.allocUnsafe(count);
    const buffered = Math.min(count, this.to - this.from);
    this.chunk.copy(out, 0, this.from, this.from + buffered);
    this.from += buffered;
    for (let got = buffered; got < count; ) {
      const n = readChunk(this.fd, out.subarray(got));
      if (n === 0) throw new Error(`end of input ${count - got} bytes into a payload`);
      got += n;
    }
    return out;
  }

  private fill(): boolean {
    this.from = 0;
    this.to = readChunk(this.fd, this.chunk);
    return this.to > 0;
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
