/**
 * The SCEP operator commands' queue (SCEP_QUEUE_DIR, root only): the same
 * directory scheme and file names as the revocation queue
 * (../revocation-queue.ts), other contents. `etoken-ca-server scep ...`
 * writes an order; the server carries it out in the journal and moves it to
 * done/ with the result, which the command waits for.
 */
import { parseJsonObject } from '../json-object.js';

interface OrderBase {
  /** 128 random bits, lowercase hex: the file name. */
  readonly id: string;
  /** Login name of the operator (from the login uid), or "uid N". */
  readonly by: string;
  readonly uid: number;
  readonly requestedAt: number;
}

export type ScepOrder =
  /** One-time challenges: only their SHA-256 travel here; the command printed each challenge once. */
  | (OrderBase & { readonly kind: 'challenge'; readonly hashes: readonly string[]; readonly subject: string; readonly expires: number })
  /** One approval point for a pending workflow. */
  | (OrderBase & { readonly kind: 'approve'; readonly txid: string })
  /** A certificate for the RA key: its subject (slash form) and public key (SPKI DER, base64). */
  | (OrderBase & { readonly kind: 'ra-cert'; readonly subject: string; readonly spki: string });

export interface ScepOrderResult {
  readonly ok: boolean;
  readonly message: string;
  /** ra-cert: the certificate issued, PEM. */
  readonly certificate?: string;
}

export type ScepOrderDone = ScepOrder & { readonly result: ScepOrderResult; readonly doneAt: number };

/** `scep challenge --count`: challenges for a fleet, made at once. */
export const MAX_CHALLENGES_PER_ORDER = 1000;
const ID = /^[0-9a-f]{32}$/;
const HASH = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const TEXT = (max: number) => new RegExp(`^[\\x20-\\x7e]{1,${max}}$`);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && TEXT(max).test(v);

export function formatScepOrder(order: ScepOrder | ScepOrderDone): string {
  return `${JSON.stringify(order)}\n`;
}

/** Strict: every field present and well-formed for its kind. */
export function parseScepOrder(text: string): ScepOrder | null {
  const o = parseJsonObject(text);
  if (!o || typeof o.id !== 'string' || !ID.test(o.id) || !isText(o.by, 64) || !isCount(o.uid) || !isCount(o.requestedAt)) return null;
  const base: OrderBase = { id: o.id, by: o.by, uid: o.uid, requestedAt: o.requestedAt };
  switch (o.kind) {
    case 'challenge': {
      const hashes = o.hashes;
      if (!Array.isArray(hashes) || hashes.length < 1 || hashes.length > MAX_CHALLENGES_PER_ORDER) return null;
      if (!hashes.every((h): h is string => typeof h === 'string' && HASH.test(h)) || !isText(o.subject, 1024) || !isCount(o.expires)) return null;
      return { ...base, kind: 'challenge', hashes, subject: o.subject, expires: o.expires };
    }
    case 'approve':
      if (!isText(o.txid, 255)) return null;
      return { ...base, kind: 'approve', txid: o.txid };
    case 'ra-cert':
      if (!isText(o.subject, 1024) || typeof o.spki !== 'string' || o.spki.length > 8192 || !BASE64.test(o.spki)) return null;
      return { ...base, kind: 'ra-cert', subject: o.subject, spki: o.spki };
    default:
      return null;
  }
}

export function parseScepOrderDone(text: string): ScepOrderDone | null {
  const order = parseScepOrder(text);
  const o = parseJsonObject(text);
  const result = o?.result as Record<string, unknown> | undefined;
  if (!order || !o || !isCount(o.doneAt) || typeof result !== 'object' || result === null) return null;
  if (typeof result.ok !== 'boolean' || typeof result.message !== 'string') return null;
  const certificate = typeof result.certificate === 'string' ? { certificate: result.certificate } : {};
  return { ...order, result: { ok: result.ok, message: result.message, ...certificate }, doneAt: o.doneAt };
}
