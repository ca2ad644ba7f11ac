/**
 * The journal: the one durable record of the CA, append-only, one JSON object
 * per line. index.txt, newcerts/ and the request outcomes are derived from it.
 * A crash can leave a torn last line; readers stop at the first line that is
 * not complete and well-formed, and the writer cuts it off at start-up.
 */
import { parseJsonObject } from '../json-object.js';
import type { ScepRecord } from '../scep/scep-records.js';
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
  | { t: 'revoke'; serial: string; reason: RevocationReason; at: number; by: string; queue?: string }
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
      der?: string;
      from: string;
      at: number;
    }
  /** A step of a SCEP enrollment workflow, or a one-time challenge (see ../scep/scep-records.ts). */
  | ScepRecord;

export type RecordType = JournalRecord['t'];

export function encodeRecord(record: JournalRecord): string {
  return `${JSON.stringify(record)}\n`;
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

function decodeRecord(line: string): JournalRecord | null {
  const r = parseJsonObject(line);
  const fields = r && REQUIRED[r.t as RecordType];
  if (!r || !fields || !fields.every((f) => r[f] !== undefined)) return null;
  return r as unknown as JournalRecord;
}

/**
 * Decodes journal bytes. Returns the records and the number of bytes they
 * occupy: whatever follows (a torn or corrupt tail) is not theirs.
 */
export function decodeJournal(bytes: Buffer): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const end = bytes.indexOf(0x0a, offset);
    if (end < 0) break;
    const record = decodeRecord(bytes.toString('utf8', offset, end));
    if (!record) break;
    records.push(record);
    offset = end + 1;
  }
  return { records, validBytes: offset };
}
