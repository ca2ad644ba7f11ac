/**
 * Blocking reads and writes on the signer's inherited pipes. The signer
 * serves one request at a time and does nothing else, so blocking calls keep
 * the per-certificate path free of event-loop hops. A signal (an operator's
 * `systemctl kill -s USR1`, say) interrupts a blocking read with EINTR, which
 * Node throws instead of retrying: both are retried here, as is EAGAIN on a
 * pipe someone made non-blocking.
 */
import { readSync, writeSync } from 'node:fs';
import { FrameDecoder, type Frame, type FrameLimits } from '@etoken-ca/protocol/frames';

const RETRY = new Set(['EINTR', 'EAGAIN']);

function retrying<T>(call: () => T): T {
  for (;;) {
    try {
      return call();
    } catch (e) {
      if (!RETRY.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  }
}

const readChunk = (fd: number, into: Buffer): number => retrying(() => readSync(fd, into, 0, into.length, null));

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

/** Frames from a pipe, read blocking. */
export class SyncFrameReader {
  private readonly chunk = Buffer.alloc(65536);
  private readonly decoder: FrameDecoder;
  private readonly received: Frame[] = [];

  constructor(
    private readonly fd: number,
    limits: FrameLimits,
  ) {
    this.decoder = new FrameDecoder(limits);
  }

  /** Up to `max` frames: those already received, else waits for the next ones. Null at EOF. */
  next(max: number): Frame[] | null {
    while (this.received.length === 0) {
      const n = readChunk(this.fd, this.chunk);
      if (n === 0) {
        if (!this.decoder.idle) throw new Error('end of input inside a frame');
        return null;
      }
      this.received.push(...this.decoder.push(this.chunk.subarray(0, n)));
    }
    return this.received.splice(0, max);
  }
}

export function writeAllSync(fd: number, chunks: readonly Buffer[]): void {
  for (const bytes of chunks) {
    for (let offset = 0; offset < bytes.length; ) offset += retrying(() => writeSync(fd, bytes, offset));
  }
}
