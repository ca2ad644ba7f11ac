/**
 * Large CA databases made on the spot, never committed: well-formed
 * `openssl ca` index.txt lines with synthetic serials (unique, OpenSSL
 * spelling), valid or revoked (the revoked spread evenly through the file).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { formatIndexLine, type IndexEntry } from '@etoken-ca/contract/core/cadb/index-line';

const YEAR_MS = 365 * 86400_000;
const CHUNK_LINES = 20_000;

export interface SyntheticIndex {
  readonly entries: number;
  /** How many of the entries are revoked. */
  readonly revoked: number;
}

/** 16 bytes like the server's serials, counted up from a fixed prefix so they never collide with each other. */
export function syntheticSerial(n: number): string {
  return `5E${n.toString(16).toUpperCase().padStart(30, '0')}`;
}

export const syntheticSubject = (n: number): string => `/DC=org/DC=example/O=Bench/CN=User ${n}`;

const SERIAL_MARK = '\u0000serial';
const SUBJECT_MARK = '\u0000subject';

/** One line formatted by the product, with marks where serial and subject go: a million lines need not each be formatted. */
function lineParts(revoked: boolean, now: number): [string, string, string] {
  const base = { serial: SERIAL_MARK, notAfter: now + YEAR_MS, subject: SUBJECT_MARK };
  const entry: IndexEntry = revoked ? { ...base, status: 'R', revokedAt: now - 3600_000, reason: 'keyCompromise' } : { ...base, status: 'V' };
  const [head, rest] = formatIndexLine(entry).split(SERIAL_MARK) as [string, string];
  const [middle, tail] = rest.split(SUBJECT_MARK) as [string, string];
  return [head, middle, tail];
}

/** Whether line n of `spec` is revoked: `revoked` of the `entries` lines, evenly spread. */
export const isSyntheticRevoked = (spec: SyntheticIndex, n: number): boolean => Math.floor(((n + 1) * spec.revoked) / spec.entries) > Math.floor((n * spec.revoked) / spec.entries);

/** Writes the index file and returns its size in bytes. */
export function writeSyntheticIndex(path: string, spec: SyntheticIndex): number {
  const now = Math.floor(Date.now() / 1000) * 1000;
  const parts = { valid: lineParts(false, now), revoked: lineParts(true, now) };
  const fd = openSync(path, 'w', 0o644);
  let bytes = 0;
  try {
    for (let start = 0; start < spec.entries; start += CHUNK_LINES) {
      let text = '';
      for (let n = start; n < Math.min(spec.entries, start + CHUNK_LINES); n++) {
        const [head, middle, tail] = isSyntheticRevoked(spec, n) ? parts.revoked : parts.valid;
        text += `${head}${syntheticSerial(n)}${middle}${syntheticSubject(n)}${tail}`;
      }
      bytes += writeSync(fd, text);
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}
