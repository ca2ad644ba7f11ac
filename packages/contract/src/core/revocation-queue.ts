/**
 * The revocation queue: revoke-cert (root) writes one JSON file per target
 * into REVOKE_QUEUE_DIR (root only, 0700), atomically (temp, fsync, rename);
 * the server takes it into the database and moves it to done/ with the
 * number of the first CRL that lists the certificate, so revoke-cert can
 * wait for it. Pure: names and record formats only.
 *
 *   REVOKE_QUEUE_DIR/<id>.json        pending
 *   REVOKE_QUEUE_DIR/.<id>.tmp        being written (ignored by the server)
 *   REVOKE_QUEUE_DIR/done/<id>.json   processed (removed after a while)
 */
import { parseReason, takesCompromiseTime, type RevocationReason } from './cadb/index-line.js';
import { parseJsonObject } from './json-object.js';
import { normalizeSerial, type SerialHex } from './serial.js';

export interface RevocationRequest {
  /** 128 random bits, lowercase hex: the file name. */
  readonly id: string;
  readonly serial: SerialHex;
  readonly reason: RevocationReason;
  /** Milliseconds since the epoch. */
  readonly requestedAt: number;
  /** Login name of the operator (from the login uid), or "uid N". */
  readonly by: string;
  readonly uid: number;
  /** When the key was compromised (keyCompromise, CACompromise only), in whole seconds, not after requestedAt. */
  readonly compromisedAt?: number;
}

export interface DoneEntry extends RevocationRequest {
  /** The first published CRL that lists the certificate; null when refused. */
  readonly crlNumber: number | null;
  readonly refused?: string;
  readonly doneAt: number;
}

export const QUEUE_DIR_MODE = 0o700;
export const DONE_DIR = 'done';
export const MAX_QUEUE_ENTRY_BYTES = 4096;
const ID = /^[0-9a-f]{32}$/;
const ENTRY_NAME = /^([0-9a-f]{32})\.json$/;

export const queueEntryName = (id: string): string => `${id}.json`;
export const queueTempName = (id: string): string => `.${id}.tmp`;

/** The id of a pending (or done) entry's file name; null for any other name. */
export function queueIdOf(name: string): string | null {
  return ENTRY_NAME.exec(name)?.[1] ?? null;
}

export function formatQueueEntry(entry: RevocationRequest | DoneEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Strict: every field present and well-formed, serial canonical, reason in OpenSSL's spelling. */
export function parseRevocationRequest(text: string): RevocationRequest | null {
  const r = parseJsonObject(text);
  if (!r) return null;
  if (typeof r.id !== 'string' || !ID.test(r.id)) return null;
  if (typeof r.serial !== 'string' || normalizeSerial(r.serial) !== r.serial) return null;
  const reason = typeof r.reason === 'string' ? parseReason(r.reason) : null;
  if (reason === null || reason !== r.reason) return null;
  if (!isCount(r.requestedAt) || !isCount(r.uid)) return null;
  if (typeof r.by !== 'string' || !/^[\x21-\x7e][\x20-\x7e]{0,63}$/.test(r.by)) return null;
  const request = { id: r.id, serial: r.serial, reason, requestedAt: r.requestedAt, by: r.by, uid: r.uid };
  if (r.compromisedAt === undefined) return request;
  if (!isCount(r.compromisedAt) || r.compromisedAt % 1000 !== 0 || r.compromisedAt > r.requestedAt || !takesCompromiseTime(reason)) return null;
  return { ...request, compromisedAt: r.compromisedAt };
}

export function parseDoneEntry(text: string): DoneEntry | null {
  const request = parseRevocationRequest(text);
  if (!request) return null;
  const r = parseJsonObject(text)!;
  const crlNumber = r.crlNumber === null ? null : isCount(r.crlNumber) ? r.crlNumber : undefined;
  if (crlNumber === undefined || !isCount(r.doneAt)) return null;
  const refused = typeof r.refused === 'string' ? { refused: r.refused } : {};
  return { ...request, crlNumber, doneAt: r.doneAt, ...refused };
}
