/**
 * The PIN console as a PinTerminal: the TTY opened by us (O_RDWR|O_NOCTTY,
 * so it never becomes our controlling terminal), checked with fstat, and
 * put in raw mode for as long as we hold it.
 *
 * Raw mode through tty.ReadStream.setRawMode rather than `stty`: libuv sets
 * the termios itself (echo, canonical mode and signal keys off), restores
 * them when the process exits, and reads the TTY through the event loop, so
 * an operator who never comes blocks no thread. Echo stays off from start-up
 * on, so a PIN typed early is never shown either.
 *
 * Pending input is discarded by reading the descriptor (non-blocking, as
 * libuv leaves it) until it is empty: the stream only reads while a prompt
 * waits, so anything typed in between is still in the kernel's queue.
 */
import { constants, fstatSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import { isatty, ReadStream } from 'node:tty';
import { isVirtualConsole } from './virtual-console.js';
import type { PinTerminal } from './terminal.js';

export interface PinTty extends PinTerminal {
  readonly path: string;
  readonly virtualConsole: boolean;
  close(): void;
}

export class PinTtyError extends Error {
  override readonly name: string = 'PinTtyError';
}

export class NotVirtualConsoleError extends PinTtyError {
  override readonly name = 'NotVirtualConsoleError';
}

const DISCARD_CHUNK = 256;

/** Opens the PIN console; a terminal that is not a Linux virtual console only with `allowNonVt`. */
export function openPinTty(path: string, allowNonVt: boolean): PinTty {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (e) {
    throw new PinTtyError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const stat = fstatSync(fd);
  if (!stat.isCharacterDevice() || !isatty(fd)) {
    closeSync(fd);
    throw new PinTtyError(`${path} is not a terminal`);
  }
  const virtualConsole = isVirtualConsole(stat.rdev);
  if (!virtualConsole && !allowNonVt) {
    closeSync(fd);
    throw new NotVirtualConsoleError(`${path} is not a Linux virtual console (/dev/tty1 to /dev/tty63): physical presence cannot be assumed there`);
  }
  const stream = new ReadStream(fd);
  stream.setRawMode(true);
  // libuv reopened the terminal by name onto the same descriptor number: it must still be the device we checked.
  if (fstatSync(fd).rdev !== stat.rdev) {
    stream.destroy();
    throw new PinTtyError(`${path} changed while it was being opened`);
  }
  return new TtyTerminal(path, fd, stream, virtualConsole);
}

class TtyTerminal implements PinTty {
  private failure: Error | null = null;

  constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly stream: ReadStream,
    readonly virtualConsole: boolean,
  ) {
    stream.on('error', (e) => (this.failure = e));
    stream.on('end', () => (this.failure = new PinTtyError(`${path} was hung up`)));
  }

  discardPending(): void {
    const scratch = Buffer.alloc(DISCARD_CHUNK);
    try {
      for (;;) {
        if (readSync(this.fd, scratch, 0, scratch.length, null) === 0) break;
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    } finally {
      scratch.fill(0);
    }
    while (this.stream.readableLength > 0) (this.stream.read() as Buffer | null)?.fill(0);
  }

  write(text: string): void {
    writeSync(this.fd, text);
  }

  read(cancelled: AbortSignal): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const attempt = (): void => {
        if (this.failure) return finish(() => reject(this.failure));
        if (cancelled.aborted) return finish(() => reject(cancelled.reason));
        const chunk = this.stream.read() as Buffer | null;
        if (chunk) finish(() => resolve(chunk));
      };
      const finish = (settle: () => void): void => {
        this.stream.off('readable', attempt).off('end', attempt).off('error', attempt);
        cancelled.removeEventListener('abort', attempt);
        settle();
      };
      this.stream.on('readable', attempt).on('end', attempt).on('error', attempt);
      cancelled.addEventListener('abort', attempt);
      attempt();
    });
  }

  close(): void {
    this.stream.setRawMode(false);
    this.stream.destroy();
  }
}
