/**
 * The one framing of every pipe between the server's processes: a frame is a
 * JSON object on one line, optionally followed by raw bytes whose count the
 * line announces (`"bytes": N`), so a request or a CRL's TBSCertList travels
 * as its own bytes rather than as base64 inside JSON. The decoder is fed
 * whatever a read returned and hands back the complete frames; anything that
 * breaks the framing is a FramingError, after which the stream is out of step
 * and its writer is not to be trusted again.
 */

export interface Frame {
  /** The line's JSON object, `bytes` removed; what it means is for the message validators to say. */
  readonly message: Readonly<Record<string, unknown>>;
  readonly payload?: Buffer;
}

export class FramingError extends Error {
  override readonly name = 'FramingError';
}

const NEWLINE = 0x0a;

export interface FrameLimits {
  readonly maxLine: number;
  readonly maxPayload: number;
}

export function encodeFrame(message: Readonly<Record<string, unknown>>, payload?: Buffer): Buffer[] {
  if (!payload) return [Buffer.from(`${JSON.stringify(message)}\n`)];
  return [Buffer.from(`${JSON.stringify({ ...message, bytes: payload.length })}\n`), payload];
}

export class FrameDecoder {
  /** Bytes of an unfinished line. */
  private line: Buffer[] = [];
  private lineBytes = 0;
  /** The frame whose payload is being gathered. */
  private open: { message: Record<string, unknown>; payload: Buffer; filled: number } | null = null;

  constructor(private readonly limits: FrameLimits) {}

  /** True when no frame is half-received. */
  get idle(): boolean {
    return this.open === null && this.lineBytes === 0;
  }

  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.open) {
        at = this.fillPayload(chunk, at, frames);
        continue;
      }
      const end = chunk.indexOf(NEWLINE, at);
      if (end < 0) {
        this.keepLinePart(chunk.subarray(at));
        break;
      }
      this.keepLinePart(chunk.subarray(at, end));
      at = end + 1;
      const text = Buffer.concat(this.line, this.lineBytes).toString('utf8');
      this.line = [];
      this.lineBytes = 0;
      const message = this.parseLine(text);
      const bytes = message.bytes;
      if (bytes === undefined) {
        frames.push({ message });
        continue;
      }
      delete message.bytes;
      if (!Number.isSafeInteger(bytes) || (bytes as number) < 0 || (bytes as number) > this.limits.maxPayload) {
        throw new FramingError('a frame announces an impossible payload');
      }
      if (bytes === 0) frames.push({ message, payload: Buffer.alloc(0) });
      else this.open = { message, payload: Buffer.allocUnsafe(bytes as number), filled: 0 };
    }
    return frames;
  }

  private keepLinePart(part: Buffer): void {
    if (part.length === 0) return;
    this.lineBytes += part.length;
    if (this.lineBytes > this.limits.maxLine) throw new FramingError(`a line longer than ${this.limits.maxLine} bytes`);
    this.line.push(Buffer.from(part));
  }

  private fillPayload(chunk: Buffer, at: number, frames: Frame[]): number {
    const open = this.open!;
    const taken = chunk.copy(open.payload, open.filled, at, Math.min(chunk.length, at + open.payload.length - open.filled));
    open.filled += taken;
    if (open.filled === open.payload.length) {
      frames.push({ message: open.message, payload: open.payload });
      this.open = null;
    }
    return at + taken;
  }

  private parseLine(text: string): Record<string, unknown> {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new FramingError('a line that is not JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FramingError('a line that is not a JSON object');
    return value as Record<string, unknown>;
  }
}
