/**
 * One line of `openssl ca`'s index.txt, as OpenSSL writes it:
 *   status TAB expiry TAB revocation[,reason] TAB serial TAB filename TAB subject
 * with times as UTCTime (YYMMDDHHMMSSZ) before 2050 and GeneralizedTime after,
 * serial in BN_bn2hex spelling and the subject as X509_NAME_oneline. A
 * revocation with a compromise time is written as openssl ca writes it:
 * `time,keyTime,GENERALIZEDTIME` for keyCompromise, `time,CAkeyTime,...`
 * for CACompromise (its CRLs carry that time as an Invalidity Date).
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

/** The reasons that may carry a compromise time (openssl ca -crl_compromise, -crl_CA_compromise). */
export const COMPROMISE_REASONS = ['keyCompromise', 'CACompromise'] as const satisfies readonly RevocationReason[];

export const takesCompromiseTime = (reason: RevocationReason): boolean => (COMPROMISE_REASONS as readonly string[]).includes(reason);

/** index.txt's reason word for a compromise with its time. */
const COMPROMISE_WORDS: Readonly<Record<string, RevocationReason>> = { keyTime: 'keyCompromise', CAkeyTime: 'CACompromise' };
const compromiseWord = (reason: RevocationReason): string => (reason === 'CACompromise' ? 'CAkeyTime' : 'keyTime');

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
  /** When the key was compromised, in whole seconds (keyCompromise and CACompromise only). */
  readonly compromisedAt?: number;
  readonly subject: string;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/** Field by field rather than through toISOString: a checkpoint formats a million of these. */
export function formatAsn1Time(ms: number): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const rest = `${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}Z`;
  return year >= 1950 && year < 2050 ? `${pad2(year % 100)}${rest}` : `${String(year).padStart(4, '0')}${rest}`;
}

/** YYYYMMDDHHMMSSZ whatever the year, as openssl ca writes a compromise time. */
export function formatGeneralizedTime(ms: number): string {
  const asn1 = formatAsn1Time(ms);
  return asn1.length === 15 ? asn1 : `${new Date(ms).getUTCFullYear()}${asn1.slice(2)}`;
}

export function parseAsn1Time(text: string): number | null {
  const bytes = Buffer.from(text, 'utf8');
  return parseAsn1TimeBytes(bytes, 0, bytes.length);
}

const DIGIT_0 = 0x30;
const LETTER_Z = 0x5a;

/** The two digits at bytes[at, at + 2) as a number, or NaN when either is not a digit. */
function twoDigits(bytes: Uint8Array, at: number): number {
  const high = bytes[at]! - DIGIT_0;
  const low = bytes[at + 1]! - DIGIT_0;
  return high >= 0 && high <= 9 && low >= 0 && low <= 9 ? high * 10 + low : Number.NaN;
}

/**
 * A UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) in bytes[start, end). Digit pairs read in
 * place, no array or closure: start-up parses a million of these.
 */
function parseAsn1TimeBytes(bytes: Uint8Array, start: number, end: number): number | null {
  const length = end - start;
  if ((length !== 13 && length !== 15) || bytes[end - 1] !== LETTER_Z) return null;
  let year: number;
  let at: number;
  if (length === 13) {
    const yy = twoDigits(bytes, start);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    at = start + 2;
  } else {
    year = twoDigits(bytes, start) * 100 + twoDigits(bytes, start + 2);
    at = start + 4;
  }
  const month = twoDigits(bytes, at);
  const day = twoDigits(bytes, at + 2);
  const hours = twoDigits(bytes, at + 4);
  const minutes = twoDigits(bytes, at + 6);
  const seconds = twoDigits(bytes, at + 8);
  // NaN from a non-digit anywhere makes Date.UTC NaN.
  const ms = Date.UTC(year, month - 1, day, hours, minutes, seconds);
  return Number.isNaN(ms) ? null : ms;
}

export function formatIndexLine(e: IndexEntry): string {
  let revocation = '';
  if (e.status === 'R' && e.revokedAt !== undefined) {
    revocation = formatAsn1Time(e.revokedAt);
    if (e.compromisedAt !== undefined && e.reason && takesCompromiseTime(e.reason)) revocation += `,${compromiseWord(e.reason)},${formatGeneralizedTime(e.compromisedAt)}`;
    else if (e.reason && e.reason !== 'unspecified') revocation += `,${e.reason}`;
  }
  return `${e.status}\t${formatAsn1Time(e.notAfter)}\t${revocation}\t${e.serial}\tunknown\t${e.subject}\n`;
}

/**
 * One index line as parsed from bytes: the fields, with serial and subject
 * left as ranges of the line so a loader can copy them without making strings.
 */
export interface RawIndexLine {
  readonly status: IndexEntry['status'];
  readonly notAfter: number;
  readonly revokedAt?: number;
  readonly reason?: RevocationReason;
  readonly compromisedAt?: number;
  readonly serialStart: number;
  readonly serialEnd: number;
  readonly subjectStart: number;
  readonly subjectEnd: number;
}

const TAB = 0x09;
const STATUS: Readonly<Record<number, IndexEntry['status']>> = { 0x56: 'V', 0x52: 'R', 0x45: 'E' };

function isUpperHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46);
}

/**
 * Parses line bytes[start, end) (without its newline); null when it is not a well-formed index line. The five
 * tabs are found in one pass over the bytes before the subject, which is not read: start-up parses a million lines.
 */
export function parseIndexLineBytes(bytes: Buffer, start: number, end: number): RawIndexLine | null {
  let t1 = -1;
  let t2 = -1;
  let t3 = -1;
  let t4 = -1;
  let t5 = -1;
  for (let at = start; at < end; at++) {
    if (bytes[at] !== TAB) continue;
    if (t1 < 0) t1 = at;
    else if (t2 < 0) t2 = at;
    else if (t3 < 0) t3 = at;
    else if (t4 < 0) t4 = at;
    else {
      t5 = at;
      break;
    }
  }
  if (t5 < 0) return null;
  // A sixth tab would be inside the subject (the search stops at the next line's first tab, a few bytes on).
  const sixth = bytes.indexOf(TAB, t5 + 1);
  if (sixth >= 0 && sixth < end) return null;
  const status = t1 === start + 1 ? STATUS[bytes[start]!] : undefined;
  if (!status) return null;
  const notAfter = parseAsn1TimeBytes(bytes, t1 + 1, t2);
  if (notAfter === null || t4 === t3 + 1) return null;
  for (let i = t3 + 1; i < t4; i++) if (!isUpperHex(bytes[i]!)) return null;
  const fields = { status, notAfter, serialStart: t3 + 1, serialEnd: t4, subjectStart: t5 + 1, subjectEnd: end };
  if (status !== 'R') return fields;
  const comma = bytes.indexOf(0x2c, t2 + 1);
  const whenEnd = comma >= 0 && comma < t3 ? comma : t3;
  const revokedAt = parseAsn1TimeBytes(bytes, t2 + 1, whenEnd);
  // A compromise time follows keyTime or CAkeyTime; a hold instruction follows holdInstruction (not kept).
  const next = whenEnd === t3 ? -1 : bytes.indexOf(0x2c, whenEnd + 1);
  const reasonEnd = next >= 0 && next < t3 ? next : t3;
  const word = bytes.toString('latin1', whenEnd + 1, reasonEnd);
  const compromise = COMPROMISE_WORDS[word];
  const reason = whenEnd === t3 ? 'unspecified' : (compromise ?? (word === 'holdInstruction' ? 'certificateHold' : parseReason(word)));
  if (revokedAt === null || reason === null) return null;
  if (!compromise) return { ...fields, revokedAt, reason };
  const compromisedAt = reasonEnd === t3 ? null : parseAsn1TimeBytes(bytes, reasonEnd + 1, t3);
  return compromisedAt === null ? null : { ...fields, revokedAt, reason, compromisedAt };
}

/** Parses one line (without its newline); null when it is not a well-formed index line. */
export function parseIndexLine(line: string): IndexEntry | null {
  const bytes = Buffer.from(line, 'utf8');
  const raw = parseIndexLineBytes(bytes, 0, bytes.length);
  if (!raw) return null;
  const { serialStart, serialEnd, subjectStart, subjectEnd, ...fields } = raw;
  return { ...fields, serial: bytes.toString('latin1', serialStart, serialEnd), subject: bytes.toString('utf8', subjectStart, subjectEnd) };
}
