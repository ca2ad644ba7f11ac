/** Reads the request from stdin, never more than the configured bound. */
import { read } from 'node:fs';
import { badRequest } from '@etoken-ca/contract/core/exit-codes';

const RETRY_MS = 10;

/** The bytes up to EOF, or null once `signal` aborts; more than `maxBytes` is refused (exit 65). */
export function readBoundedInput(fd: number, maxBytes: number, signal: AbortSignal): Promise<Buffer | null> {
  // One byte more than allowed, to tell "exactly the limit" from "over it".
  const buffer = Buffer.alloc(maxBytes + 1);
  let length = 0;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      buffer.fill(0);
      resolve(null);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const fail = (error: Error): void => {
      signal.removeEventListener('abort', onAbort);
      buffer.fill(0);
      reject(error);
    };
    const next = (): void =>
      read(fd, buffer, length, buffer.length - length, null, (error, n) => {
        if (signal.aborted) return;
        if (error?.code === 'EAGAIN') {
          // stdin left non-blocking by whoever made it: try again shortly.
          setTimeout(next, RETRY_MS);
          return;
        }
        if (error) return fail(badRequest(`cannot read the request on stdin: ${error.code ?? error.message}`));
        if (n === 0) {
          signal.removeEventListener('abort', onAbort);
          return resolve(buffer.subarray(0, length));
        }
        length += n;
        if (length > maxBytes) return fail(badRequest(`request larger than ${maxBytes} bytes`));
        next();
      });
    next();
  });
}
