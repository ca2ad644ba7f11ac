/**
 * The journal: the one durable record of the CA, append-only, in segments
 * (journal/NNNNNNNN.jnl). index.txt, newcerts/ and the request outcomes are
 * derived from it. Each record is one line of text, so that grep and less
 * still work on it:
 *
 *   LLLLLLLL CCCCCCCC {"t":"issue",...}\n
 *
 * LLLLLLLL is the length of the JSON in bytes and CCCCCCCC the CRC-32 of the
 * length digits followed by the JSON, both as 8 lowercase hex digits. A
 * record is whole only when its length, checksum, closing newline and
 * fields are all right.
 *
 * What a reader does with what is not whole:
 * - an incomplete last record (no newline after it: a crash during an
 *   append, or a zero-filled tail) is not part of the journal; the server
 *   cuts it off at start-up;
 * - anything else (a line that is not a record, a checksum that does not
 *   match, a record with good checksum that is not a journal record, or an
 *   incomplete record with complete records after it) is damage: records
 *   that were written, flushed and acknowledged may lie there or after it,
 *   so nothing is cut and the server does not start (`etoken-ca-server
 *   verify-journal` prints where);
 * - a segment in the format of earlier versions (one JSON object per line,
 *   no length or checksum) is reported as such: this version does not read
 *   it (there is no deployment with one).
 */
import { parseJsonObject } from '../json-object.js';
import type { ScepRecord } from '../scep/scep-records.js';
import { crc32 } from './crc32.js';
import type { RevocationReason } from './index-line.js';

export type JournalRecord =
  /** Written (not flushed) before the signer is asked: the serial may be signed from now on. */
  | { t: 'reserve'; req: string; serial: string; subject: string; notAfter: number; at: number }
  /** The certificate, flushed before any answer. */
  | { t: 'issue'; req: string; serial: string; der: string; at: number }
  /** With `serial`: the reserved serial was certainly not signed (refused before signing) and is released. */
  | { t: 'refuse'; req: string; exit: number; reason: string; at: number; serial?: string }
  /** Signed, or maybe signed, and never to be handed out: revoked as cessationOfOperation. */
  | { t: 'withhold'; req: string; serial: string; why: string; at: number }
  | { t: 'answer'; req: string; at: number }
  /** A reserved serial that never reached a signer: nothing was signed. */
  | { t: 'release'; serial: string; at: number }
  /** With `compromisedAt` (keyCompromise, CACompromise): when the key was compromised, for the CRL's Invalidity Date. */
  | { t: 'revoke'; serial: string; reason: RevocationReason; at: number; by: string; queue?: string; compromisedAt?: number }
  /** Recorded durably before the CRL is signed, so a number is never used twice. */
  | { t: 'crl-number'; number: number; thisUpdate: number; at: number }
  | { t: 'crl-published'; number: number; thisUpdate: number; nextUpdate: number; at: number }
  /** A certificate taken over from an `openssl ca` directory (`from`) as its index.txt line had it, with its DER when newcerts/ held it. */
  | {
      t: 'import';
      serial: string;
      status: 'V' | 'R' | 'E';
      notAfter: number;
      subject: string;
      revokedAt?: number;
      reason?: RevocationReason;
      compromisedAt?: number;
      der?: string;
      from: string;
      at: number;
    }
  /** A step of a SCEP enrollment workflow, or a one-time challenge (see ../scep/scep-records.ts). */
  | ScepRecord;

export type RecordType = JournalRecord['t'];

/** "LLLLLLLL CCCCCCCC ": the bytes before a record's JSON. */
export const RECORD_HEADER_BYTES = 18;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const OPEN_BRACE = 0x7b;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** One record as the journal holds it: header, JSON, newline. */
export function encodeRecord(record: JournalRecord): Buffer {
  const json = JSON.stringify(record);
  const length = Buffer.byteLength(json);
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + length + 1);
  out.write(hex8(length), 0, 'latin1');
  out[8] = SPACE;
  out[17] = SPACE;
  out.write(json, RECORD_HEADER_BYTES, 'utf8');
  out[RECORD_HEADER_BYTES + length] = NEWLINE;
  const crc = crc32(out, RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + length, crc32(out, 0, 8));
  out.write(hex8(crc), 9, 'latin1');
  return out;
}

const REQUIRED: Readonly<Record<RecordType, readonly string[]>> = {
  reserve: ['req', 'serial', 'subject', 'notAfter', 'at'],
  issue: ['req', 'serial', 'der', 'at'],
  refuse: ['req', 'exit', 'reason', 'at'],
  withhold: ['req', 'serial', 'why', 'at'],
  answer: ['req', 'at'],
  release: ['serial', 'at'],
  revoke: ['serial', 'reason', 'at', 'by'],
  'crl-number': ['number', 'thisUpdate', 'at'],
  'crl-published': ['number', 'thisUpdate', 'nextUpdate', 'at'],
  import: ['serial', 'status', 'notAfter', 'subject', 'from', 'at'],
  scep: ['step', 'at'],
};

function decodeRecord(json: string): JournalRecord | null {
  const r = parseJsonObject(json);
  const fields = r && Object.hasOwn(REQUIRED, r.t as string) ? REQUIRED[r.t as RecordType] : undefined;
  if (!r || !fields || !fields.every((f) => r[f] !== undefined)) return null;
  return r as unknown as JournalRecord;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** The 8 hex digits at bytes[at..at+8), or -1. */
function readHex8(bytes: Uint8Array, at: number): number {
  let n = 0;
  for (let i = at; i < at + 8; i++) {
    const v = hexValue(bytes[i]!);
    if (v < 0) return -1;
    n = n * 16 + v;
  }
  return n;
}

type Frame = { readonly record: JournalRecord; readonly end: number } | { readonly problem: string };

/** The record starting at `at`, or what is wrong with the bytes there. */
function readFrame(bytes: Uint8Array, at: number): Frame {
  const available = bytes.length - at;
  for (let i = 0; i < Math.min(available, RECORD_HEADER_BYTES); i++) {
    const c = bytes[at + i]!;
    const fits = i === 8 || i === 17 ? c === SPACE : hexValue(c) >= 0;
    if (!fits) return { problem: 'not a record header' };
  }
  if (available < RECORD_HEADER_BYTES) return { problem: 'incomplete record header' };
  const length = readHex8(bytes, at);
  const stored = readHex8(bytes, at + 9);
  const start = at + RECORD_HEADER_BYTES;
  const end = start + length + 1;
  if (end > bytes.length) return { problem: `a record of ${length} bytes runs past the end` };
  if (bytes[end - 1] !== NEWLINE) return { problem: 'no newline after the record' };
  const crc = crc32(bytes, start, end - 1, crc32(bytes, at, at + 8));
  if (crc !== stored) return { problem: `checksum ${hex8(crc)} where the record says ${hex8(stored)}` };
  const record = decodeRecord(Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString('utf8'));
  return record ? { record, end } : { problem: 'a record with a good checksum that is not a journal record' };
}

export type JournalDamage =
  /** An incomplete last record: bytes with no newline after them, what a crash during an append leaves. */
  | { readonly kind: 'torn'; readonly offset: number; readonly bytes: number }
  /** Not a whole record, with more after it (see the header): never cut. */
  | { readonly kind: 'damaged'; readonly offset: number; readonly problem: string; readonly nextRecordAt: number | null; readonly recordsAfter: number }
  /** A segment in the one-JSON-line format of earlier versions. */
  | { readonly kind: 'old-format' };

export interface DecodedJournal {
  readonly records: JournalRecord[];
  /** Bytes of whole records from the start. */
  readonly validBytes: number;
  /** What follows them; null when the bytes end with a whole record. */
  readonly damage: JournalDamage | null;
}

/** Whether the bytes start with a whole record of the earlier format: a JSON object on a line of its own. */
function isOldFormat(bytes: Uint8Array): boolean {
  if (bytes[0] !== OPEN_BRACE) return false;
  const end = bytes.indexOf(NEWLINE);
  return end > 0 && decodeRecord(Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8')) !== null;
}

/**
 * The whole records after damage at `from`: where the first one starts and how many follow it
 * in a row. A record starts after a newline, or where the damaged one would have ended.
 */
function recordsAfter(bytes: Uint8Array, from: number): { nextRecordAt: number | null; count: number } {
  for (let at = bytes.indexOf(NEWLINE, from) + 1; at > 0 && at < bytes.length; at = bytes.indexOf(NEWLINE, at) + 1) {
    let frame = readFrame(bytes, at);
    if (!('record' in frame)) continue;
    let count = 0;
    for (let next = at; 'record' in frame; frame = readFrame(bytes, next)) {
      count++;
      next = frame.end;
      if (next >= bytes.length) break;
    }
    return { nextRecordAt: at, count };
  }
  return { nextRecordAt: null, count: 0 };
}

/** Decodes journal bytes (one segment): the whole records from the start, and what follows them. */
export function decodeJournal(bytes: Uint8Array): DecodedJournal {
  if (isOldFormat(bytes)) return { records: [], validBytes: 0, damage: { kind: 'old-format' } };
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const frame = readFrame(bytes, offset);
    if ('record' in frame) {
      records.push(frame.record);
      offset = frame.end;
      continue;
    }
    if (bytes.indexOf(NEWLINE, offset) < 0) return { records, validBytes: offset, damage: { kind: 'torn', offset, bytes: bytes.length - offset } };
    const after = recordsAfter(bytes, offset);
    return {
      records,
      validBytes: offset,
      damage: { kind: 'damaged', offset, problem: frame.problem, nextRecordAt: after.nextRecordAt, recordsAfter: after.count },
    };
  }
  return { records, validBytes: offset, damage: null };
}
