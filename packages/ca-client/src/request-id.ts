/**
 * Request ids (REQUEST_ID in the contract): 128 bits read from the kernel's
 * random source, which also seeds node:crypto's generator; node:crypto itself
 * is not loaded until the request is published (certificate-check.ts).
 */
import { closeSync, openSync, readSync } from 'node:fs';

const ID_BYTES = 16;

export function newRequestId(): string {
  const bytes = Buffer.alloc(ID_BYTES);
  const fd = openSync('/dev/urandom', 'r');
  try {
    if (readSync(fd, bytes, 0, ID_BYTES, null) !== ID_BYTES) throw new Error('short read from /dev/urandom');
  } finally {
    closeSync(fd);
  }
  return bytes.toString('hex');
}
