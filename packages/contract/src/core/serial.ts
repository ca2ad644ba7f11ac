/**
 * Certificate serials: 16 random bytes read as a positive integer, encoded as
 * a minimal DER INTEGER, spelled in index.txt and newcerts/ as OpenSSL does
 * (BN_bn2hex: uppercase, whole bytes, no leading 00 byte).
 */
import { randomBytes } from 'node:crypto';

/** Canonical spelling of a serial, e.g. `3F0A...`; the key of the CA database. */
export type SerialHex = string;

export function randomSerial(): SerialHex {
  for (;;) {
    const hex = toSerialHex(randomBytes(16));
    if (hex !== null) return hex;
  }
}

/** Magnitude bytes -> OpenSSL spelling; null for zero. */
export function toSerialHex(bytes: Uint8Array): SerialHex | null {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  if (start === bytes.length) return null;
  return Buffer.from(bytes.subarray(start)).toString('hex').toUpperCase();
}

/** Accepts what an operator may type (any case, 0x prefix, odd length, leading zeros) and spells it canonically. */
export function normalizeSerial(text: string): SerialHex | null {
  const m = /^(?:0x)?([0-9a-f]{1,80})$/i.exec(text.trim().replace(/:/g, ''));
  if (!m) return null;
  const digits = m[1]!.length % 2 ? `0${m[1]}` : m[1]!;
  return toSerialHex(Buffer.from(digits, 'hex'));
}

/** Content octets of the DER INTEGER for a serial: minimal, positive. */
export function serialIntegerContent(serial: SerialHex): Buffer {
  const bytes = Buffer.from(serial, 'hex');
  return bytes[0]! & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes;
}
