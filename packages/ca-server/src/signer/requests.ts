/** Reads one request line from the supervisor, checking its shape before anything uses it. */
import type { Rdn } from '@etoken-ca/contract/dn';
import type { SignerRequest } from '../ipc.js';

export class MalformedRequest extends Error {
  override readonly name = 'MalformedRequest';
  constructor(
    message: string,
    /** The request id when the line had a usable one, so the answer can still name it. */
    readonly id: string | undefined,
  ) {
    super(message);
  }
}

/** A CRL of 100,000 entries is about 5 MB of TBSCertList. */
const MAX_PAYLOAD = 64 << 20;

const isString = (v: unknown): v is string => typeof v === 'string';
const isRdn = (v: unknown): v is Rdn => typeof v === 'object' && v !== null && isString((v as Rdn).type) && isString((v as Rdn).value);
const isBase64 = (v: string): boolean => /^[A-Za-z0-9+/]*={0,2}$/.test(v);
const isEpochMs = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A line whose `bytes` cannot be read leaves the stream out of step: not a request to refuse, the end of the input. */
class BrokenFraming extends Error {
  override readonly name = 'BrokenFraming';
}

/** A request line; `payload(n)` reads the n bytes that follow a line announcing them (`bytes`). */
export function parseSignerRequest(line: string, payload: (bytes: number) => Buffer): SignerRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new MalformedRequest('request line is not JSON', undefined);
  }
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  // The payload is read before anything else is judged, so a refused request still leaves the stream in step.
  let attached: Buffer | undefined;
  if (r.bytes !== undefined) {
    if (!Number.isSafeInteger(r.bytes) || (r.bytes as number) < 0 || (r.bytes as number) > MAX_PAYLOAD) throw new BrokenFraming('request announces an impossible payload');
    attached = payload(r.bytes as number);
  }
  const id = isString(r.id) && /^[\x21-\x7e]{1,128}$/.test(r.id) ? r.id : undefined;
  const fail = (why: string): never => {
    throw new MalformedRequest(why, id);
  };
  if (id === undefined) fail('request has no valid id');
  if (r.type === 'check') return { type: 'check', id: id! };
  if (r.type === 'sign-crl') {
    if (!attached?.length) fail('sign-crl without its TBSCertList');
    return { type: 'sign-crl', id: id!, tbs: attached! };
  }
  if (r.type !== 'sign-cert') return fail('unknown request type');
  if (!isString(r.serial)) fail('serial is not a string');
  if (!Array.isArray(r.subject) || !r.subject.every(isRdn)) fail('subject is not a list of RDNs');
  if (!Array.isArray(r.emails) || !r.emails.every(isString)) fail('emails is not a list of strings');
  if (!isString(r.spki) || !isBase64(r.spki)) fail('spki is not base64');
  if (!isEpochMs(r.notBefore) || !isEpochMs(r.notAfter)) fail('validity is not in whole milliseconds');
  return {
    type: 'sign-cert',
    id: id!,
    serial: r.serial as string,
    subject: (r.subject as Rdn[]).map(({ type, value: text }) => ({ type, value: text })),
    emails: [...(r.emails as string[])],
    spki: r.spki as string,
    notBefore: r.notBefore as number,
    notAfter: r.notAfter as number,
  };
}
