/**
 * One line of `openssl ca`'s index.txt, as OpenSSL writes it:
 *   status TAB expiry TAB revocation[,reason] TAB serial TAB filename TAB subject
 * with times as UTCTime (YYMMDDHHMMSSZ) before 2050 and GeneralizedTime after,
 * serial in BN_bn2hex spelling and the subject as X509_NAME_oneline.
 */
import type { SerialHex } from '../serial.js';

/** OpenSSL's spellings (crl_reasons in apps/ca.c), in CRLReason code order where one exists. */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'CACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** The CRLReason enumerated value of a reason (RFC 5280 5.3.1). */
export function reasonCode(reason: RevocationReason): number {
  return REVOCATION_REASONS.indexOf(reason);
}

export function parseReason(text: string): RevocationReason | null {
  const found = REVOCATION_REASONS.find((r) => r.toLowerCase() === text.toLowerCase());
  return found ?? null;
}

export interface IndexEntry {
  readonly serial: SerialHex;
  readonly status: 'V' | 'R' | 'E';
  /** notAfter, ms since the epoch. */
  readonly notAfter: number;
  /** Revocation time in ms, when status is R. */
  readonly revokedAt?: number;
  readonly reason?: RevocationReason;
  readonly subject: string;
}

export function formatAsn1Time(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-24T00:21:52.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, ''); // 20261124002152
  const year = Number(digits.slice(0, 4));
  return year >= 1950 && year < 2050 ? `${digits.slice(2)}Z` : `${digits}Z`;
}

export function parseAsn1Time(text: string): number | null {
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return null;
  let year = Number(m[1]);
  if (m[1]!.length === 2) year += year >= 50 ? 1900 : 2000;
  const ms = Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isNaN(ms) ? null : ms;
}

export function formatIndexLine(e: IndexEntry): string {
  let revocation = '';
  if (e.status === 'R' && e.revokedAt !== undefined) {
    revocation = formatAsn1Time(e.revokedAt);
    if (e.reason && e.reason !== 'unspecified') revocation += `,${e.reason}`;
  }
  return `${e.status}\t${formatAsn1Time(e.notAfter)}\t${revocation}\t${e.serial}\tunknown\t${e.subject}\n`;
}

/** Parses one line (without its newline); null when it is not a well-formed index line. */
export function parseIndexLine(line: string): IndexEntry | null {
  const f = line.split('\t');
  if (f.length !== 6) return null;
  const [status, expiry, revocation, serial, , subject] = f as [string, string, string, string, string, string];
  if (status !== 'V' && status !== 'R' && status !== 'E') return null;
  const notAfter = parseAsn1Time(expiry);
  if (notAfter === null || !/^[0-9A-F]+$/.test(serial)) return null;
  if (status !== 'R') return { serial, status, notAfter, subject };
  const [when, why] = revocation.split(',');
  const revokedAt = parseAsn1Time(when ?? '');
  const reason = why === undefined ? 'unspecified' : parseReason(why);
  if (revokedAt === null || reason === null) return null;
  return { serial, status, notAfter, revokedAt, reason, subject };
}
