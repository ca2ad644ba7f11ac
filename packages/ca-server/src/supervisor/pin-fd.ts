/**
 * `--pin-fd N`: the PIN read once from an inherited descriptor (automation
 * and tests), accepted only when the config says ALLOW_PIN_FD=yes, and
 * logged as a warning each time: physical presence at the console is the
 * point of the design. A rejected PIN is not asked again.
 */
import { closeSync, readSync } from 'node:fs';
import type { TokenInfo } from '@etoken-ca/protocol/signer-messages';
import type { PinSource } from './pin-source.js';

const MAX_PIN = 256;

/** A signal during the read (EINTR) is no reason to lose the PIN. */
function readRetrying(fd: number, buf: Buffer, at: number): number {
  for (;;) {
    try {
      return readSync(fd, buf, at, buf.length - at, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINTR') throw e;
    }
  }
}

/** Reads the descriptor to EOF now (at start-up), stripping one trailing newline. */
export function readPinFd(fd: number): Buffer {
  const buf = Buffer.alloc(MAX_PIN + 1);
  let got = 0;
  try {
    for (;;) {
      const n = readRetrying(fd, buf, got);
      if (n === 0 || got + n > MAX_PIN) {
        got += n;
        break;
      }
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  if (got > MAX_PIN) {
    buf.fill(0);
    throw new Error(`PIN from --pin-fd is longer than ${MAX_PIN} bytes`);
  }
  let end = got;
  if (buf[end - 1] === 0x0a) end--;
  if (buf[end - 1] === 0x0d) end--;
  const pin = Buffer.from(buf.subarray(0, end));
  buf.fill(0);
  return pin;
}

export class FdPinSource implements PinSource {
  constructor(
    private pin: Buffer | null,
    private readonly warn: (msg: string) => void,
  ) {}

  async ask(token: TokenInfo, previousRejected: boolean): Promise<Buffer | null> {
    if (previousRejected || !this.pin) return null;
    this.warn(`PIN for token ${token.label} (${token.serial}) taken from --pin-fd, not from the console`);
    const pin = this.pin;
    this.pin = null;
    return pin;
  }
}
