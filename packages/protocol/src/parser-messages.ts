/**
 * The supervisor and the request parser: one request's bytes in, plain
 * fields (or a one-line refusal) out. The parser holds nothing and is the
 * process that reads hostile request bytes, so what it answers is checked
 * as strictly as what it is sent.
 */
import type { Rdn } from '@etoken-ca/contract/core/dn';
import { idOf, MessageFields, MAX_REASON } from './fields.js';
import { encodeFrame, type Frame } from './frames.js';
import { ProtocolViolation } from './violation.js';

/** supervisor -> parser: the spool file's bytes follow the line. */
export interface ParseRequest {
  readonly type: 'parse';
  readonly id: string;
  readonly request: Buffer;
}

/** What the parser makes of a request: plain fields, nothing left to parse. */
export interface ParsedRequest {
  readonly subject: readonly Rdn[];
  readonly emails: readonly string[];
  readonly proxyLifetime: number;
  readonly maxCertLifetime: number;
  /** The CSR's SubjectPublicKeyInfo, DER, in its canonical form, after its signature checked out. */
  readonly spki: Buffer;
}

/** parser -> supervisor */
export type ParseAnswer =
  | { readonly type: 'parsed'; readonly id: string; readonly fields: ParsedRequest }
  | { readonly type: 'refused'; readonly id: string; readonly reason: string };

/** MAX_REQUEST_SIZE's ceiling: a frame may carry that much, the parser refuses what the config does not allow. */
export const MAX_REQUEST_BYTES = 1 << 20;
const MAX_EMAILS = 8;
const MAX_EMAIL = 254;
const MAX_LIFETIME = 2 ** 31;
/** An RSA key of 16,384 bits is about 2,100 bytes of SPKI. */
const MAX_SPKI = 4096;

export function encodeParseRequest(request: ParseRequest): Buffer[] {
  return encodeFrame({ type: 'parse', id: request.id }, request.request);
}

export function readParseRequest(frame: Frame): ParseRequest {
  if (frame.message.type !== 'parse') throw new ProtocolViolation('not a parse request');
  const f = new MessageFields(frame.message, 'parse request', ['id']);
  return { type: 'parse', id: f.requestId(), request: f.payload(frame.payload, MAX_REQUEST_BYTES, 0) };
}

export function encodeParseAnswer(answer: ParseAnswer): Buffer[] {
  if (answer.type === 'refused') return encodeFrame({ ...answer });
  const { spki, ...fields } = answer.fields;
  return encodeFrame({ type: 'parsed', id: answer.id, ...fields, spki: spki.toString('base64') });
}

export function readParseAnswer(frame: Frame): ParseAnswer {
  const { type } = frame.message;
  if (type === 'refused') {
    const f = new MessageFields(frame.message, 'refusal', ['id', 'reason']);
    f.none(frame.payload);
    return { type, id: f.requestId(), reason: f.string('reason', MAX_REASON) };
  }
  if (type !== 'parsed') throw new ProtocolViolation('parser sent an unknown message', idOf(frame.message));
  const f = new MessageFields(frame.message, 'parse answer', ['id', 'subject', 'emails', 'proxyLifetime', 'maxCertLifetime', 'spki']);
  f.none(frame.payload);
  return {
    type,
    id: f.requestId(),
    fields: {
      subject: f.rdns('subject'),
      emails: f.list('emails', MAX_EMAILS, (v) => (typeof v === 'string' && v.length > 0 && v.length <= MAX_EMAIL ? v : undefined)),
      proxyLifetime: f.integer('proxyLifetime', 1, MAX_LIFETIME),
      maxCertLifetime: f.integer('maxCertLifetime', 0, MAX_LIFETIME),
      spki: f.base64('spki', MAX_SPKI),
    },
  };
}
