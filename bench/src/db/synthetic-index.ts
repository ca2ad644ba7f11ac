/**
 * Large CA databases made on the spot, never committed: well-formed
 * `openssl ca` index.txt lines with synthetic serials (unique, OpenSSL
 * spelling). The first `expired` lines are past their notAfter (oldest
 * first), the others valid or revoked (the revoked spread evenly through
 * them).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { formatIndexLine, type IndexEntry } from '@etoken-ca/contract/core/cadb/index-line';

const DAY_MS = 86400_000;
const YEAR_MS = 365 * DAY_MS;
/** How far back the expired lines' notAfter goes. */
const EXPIRED_SPAN_MS = 5 * YEAR_MS;
/** Bytes per write: 10M lines (about 1 GB) take seconds, never held whole. */
const WRITE_BYTES = 8 << 20;
/** Expired lines share their notAfter in runs of this many: one line formatted per run, still spread over the years. */
const EXPIRED_RUN = 50_000;

export interface SyntheticIndex {
  readonly entries: number;
  /** How many of the entries, the first ones, are past their notAfter: still status V, as openssl ca leaves them until -updatedb. None when absent. */
  readonly expired?: number;
  /** How many of the entries after the expired ones are revoked. */
  readonly revoked: number;
}

/** 16 bytes like the server's serials, counted up from a fixed prefix so they never collide with each other. */
export function syntheticSerial(n: number): string {
  return `5E${n.toString(16).toUpperCase().padStart(30, '0')}`;
}

export const syntheticSubject = (n: number): string => `/DC=org/DC=example/O=Bench/CN=User ${n}`;

const SERIAL_MARK = '\u0000serial';
const SUBJECT_MARK = '\u0000subject';

type LineParts = readonly [head: string, middle: string, tail: string];

/** One line formatted by the product, with marks where serial and subject go: millions of lines need not each be formatted. */
function lineParts(status: 'V' | 'R', notAfter: number, now: number): LineParts {
  const base = { serial: SERIAL_MARK, notAfter, subject: SUBJECT_MARK };
  const entry: IndexEntry = status === 'R' ? { ...base, status, revokedAt: now - 3600_000, reason: 'keyCompromise' } : { ...base, status };
  const [head, rest] = formatIndexLine(entry).split(SERIAL_MARK) as [string, string];
  const [middle, tail] = rest.split(SUBJECT_MARK) as [string, string];
  return [head, middle, tail];
}

/** notAfter of expired line n (whole seconds): the oldest, line 0, EXPIRED_SPAN_MS before the last day; the newest a day ago. */
const expiredNotAfter = (n: number, expired: number, now: number): number => now - DAY_MS - Math.floor((EXPIRED_SPAN_MS / 1000) * (1 - n / expired)) * 1000;

const expiredCount = (spec: SyntheticIndex): number => spec.expired ?? 0;

/** Whether line n of `spec` is revoked: `revoked` of the lines after the expired ones, evenly spread. */
export function isSyntheticRevoked(spec: SyntheticIndex, n: number): boolean {
  const k = n - expiredCount(spec);
  const live = spec.entries - expiredCount(spec);
  return k >= 0 && Math.floor(((k + 1) * spec.revoked) / live) > Math.floor((k * spec.revoked) / live);
}

/** `count` valid lines (neither expired nor revoked), spread through the unexpired ones. */
export function syntheticValidLines(spec: SyntheticIndex, count: number): number[] {
  const first = expiredCount(spec);
  const live = spec.entries - first;
  const found: number[] = [];
  for (let k = Math.floor(live / 7); found.length < count; k = (k + 104_729) % live) if (!isSyntheticRevoked(spec, first + k)) found.push(first + k);
  return found;
}

/** Writes the index file and returns its size in bytes. */
export function writeSyntheticIndex(path: string, spec: SyntheticIndex): number {
  const now = Math.floor(Date.now() / 1000) * 1000;
  const expired = expiredCount(spec);
  const valid = lineParts('V', now + YEAR_MS, now);
  const revoked = lineParts('R', now + YEAR_MS, now);
  let expiredRun = valid;
  // Lines go into one buffer, written when full: a string per chunk of lines costs twice the time in concatenation.
  const buffer = Buffer.allocUnsafe(WRITE_BYTES);
  let used = 0;
  let bytes = 0;
  const fd = openSync(path, 'w', 0o644);
  const flush = (): void => {
    for (let at = 0; at < used; ) at += writeSync(fd, buffer, at, used - at);
    bytes += used;
    used = 0;
  };
  try {
    for (let n = 0; n < spec.entries; n++) {
      if (n < expired && n % EXPIRED_RUN === 0) expiredRun = lineParts('V', expiredNotAfter(n, expired, now), now);
      const [head, middle, tail] = n < expired ? expiredRun : isSyntheticRevoked(spec, n) ? revoked : valid;
      const line = `${head}${syntheticSerial(n)}${middle}${syntheticSubject(n)}${tail}`;
      if (used + line.length > buffer.length) flush();
      used += buffer.write(line, used, 'latin1');
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return bytes;
}
