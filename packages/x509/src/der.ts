/**
 * A small DER writer over plain Buffers.
 *
 * Hand-written on purpose: the signer encodes only the variable parts of each
 * certificate around a template encoded once, and a CRL re-uses the stored
 * DER of up to 100k revoked entries. Both want plain Buffer concatenation with
 * the total length known up front; forge.asn1 works on binary strings and the
 * schema libraries build object trees, both far too slow for that.
 */

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  enumerated: 0x0a,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  sequence: 0x30,
  set: 0x31,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
} as const;

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element from its tag and the already encoded parts of its content. */
export const tlv = (tag: number, ...content: readonly Buffer[]): Buffer => tlvOfList(tag, content);

/** tlv() for a list too long to spread into arguments (the entries of a large CRL). */
export function tlvOfList(tag: number, content: readonly Buffer[]): Buffer {
  let contentLength = 0;
  for (const part of content) contentLength += part.length;
  const header = lengthBytes(contentLength);
  const out = Buffer.allocUnsafe(1 + header.length + contentLength);
  out[0] = tag;
  header.copy(out, 1);
  let offset = 1 + header.length;
  for (const part of content) offset += part.copy(out, offset);
  return out;
}

export const sequence = (...items: readonly Buffer[]): Buffer => tlv(TAG.sequence, ...items);
export const sequenceOfList = (items: readonly Buffer[]): Buffer => tlvOfList(TAG.sequence, items);

/** A SET OF: DER wants the encodings in ascending byte order. */
export const setOf = (...items: readonly Buffer[]): Buffer => tlv(TAG.set, ...[...items].sort(Buffer.compare));

/** An INTEGER from content bytes that are already minimal two's complement (e.g. a serial). */
export const integerFromContent = (content: Buffer): Buffer => tlv(TAG.integer, content);

/** An INTEGER from a small non-negative number (versions, counts). */
export function smallInteger(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a small non-negative integer: ${value}`);
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(TAG.integer, Buffer.from(bytes));
}

/** An unsigned big-endian magnitude as a positive INTEGER (leading zeros dropped, 00 added if the top bit is set). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const bytes = magnitude.subarray(start);
  return tlv(TAG.integer, bytes[0]! & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes);
}

/** An ENUMERATED from a small non-negative value (e.g. a CRLReason). */
export const enumerated = (value: number): Buffer => tlv(TAG.enumerated, smallInteger(value).subarray(2));

export const boolean = (value: boolean): Buffer => tlv(TAG.boolean, Buffer.of(value ? 0xff : 0));
export const nullValue = (): Buffer => Buffer.of(TAG.null, 0);
export const octetString = (bytes: Buffer): Buffer => tlv(TAG.octetString, bytes);
export const bitString = (bytes: Buffer, unusedBits = 0): Buffer => tlv(TAG.bitString, Buffer.of(unusedBits), bytes);

const oidCache = new Map<string, Buffer>();

/** An OBJECT IDENTIFIER from its dotted form; encodings are cached (a handful of OIDs recur in every certificate). */
export function oid(dotted: string): Buffer {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  const arcs = dotted.split('.').map((arc) => (/^\d{1,15}$/.test(arc) ? Number(arc) : NaN));
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || arcs.some(Number.isNaN) || first > 2 || (first < 2 && second > 39)) {
    throw new RangeError(`not an OID: ${dotted}`);
  }
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const base128: number[] = [arc % 128];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) base128.unshift(0x80 | n % 128);
    bytes.push(...base128);
  }
  const encoded = tlv(TAG.oid, Buffer.from(bytes));
  oidCache.set(dotted, encoded);
  return encoded;
}

export const utf8String = (text: string): Buffer => tlv(TAG.utf8String, Buffer.from(text, 'utf8'));
/** Printable ASCII bytes; throws rather than let a wider character collapse into another one. */
export function asciiBytes(text: string): Buffer {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new RangeError('non-ASCII or control character where ASCII is required');
  return Buffer.from(text, 'latin1');
}

/** The caller checks the narrower PrintableString set; both are limited to ASCII here. */
export const printableString = (text: string): Buffer => tlv(TAG.printableString, asciiBytes(text));
export const ia5String = (text: string): Buffer => tlv(TAG.ia5String, asciiBytes(text));

const TIME_FROM = Date.UTC(1950, 0, 1);
const GENERALIZED_FROM = Date.UTC(2050, 0, 1);
const TIME_UNTIL = Date.UTC(10000, 0, 1);

/** The bytes time(epochMs) takes: 15 for a UTCTime (through 2049), 17 for a GeneralizedTime (from 2050). */
export function timeLength(epochMs: number): number {
  if (!(epochMs >= TIME_FROM && epochMs < TIME_UNTIL)) {
    const date = new Date(epochMs);
    throw new RangeError(`time out of range: ${Number.isNaN(date.getTime()) ? epochMs : date.toISOString()}`);
  }
  return epochMs < GENERALIZED_FROM ? 15 : 17;
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Z. */
export function time(epochMs: number): Buffer {
  const out = Buffer.allocUnsafe(timeLength(epochMs));
  writeTime(out, 0, epochMs);
  return out;
}

/** time(epochMs) written into `out` at `at`, which has room for timeLength(epochMs) bytes; returns the offset after it. */
export function writeTime(out: Buffer, at: number, epochMs: number): number {
  return timeLength(epochMs) === 15 ? writeTimeElement(out, at, TAG.utcTime, new Date(epochMs), 2) : writeTimeElement(out, at, TAG.generalizedTime, new Date(epochMs), 4);
}

/** GeneralizedTime in whole seconds, whatever the year (invalidityDate, RFC 5280 5.3.2, is always one). */
export function generalizedTime(epochMs: number): Buffer {
  const out = Buffer.allocUnsafe(17);
  writeTimeElement(out, 0, TAG.generalizedTime, new Date(epochMs), 4);
  return out;
}

/**
 * (YY|YYYY)MMDDHHMMSSZ in whole seconds, written digit by digit: a CRL of 100,000 entries encodes as many times,
 * and formatting each through toISOString and a regular expression was most of the cost of an entry.
 */
function writeTimeElement(out: Buffer, start: number, tag: number, date: Date, yearDigits: 2 | 4): number {
  out[start] = tag;
  out[start + 1] = yearDigits + 11;
  let at = start + 2;
  const put = (value: number, digits: number): void => {
    for (let d = digits - 1; d >= 0; d--, value = Math.floor(value / 10)) out[at + d] = 0x30 + (value % 10);
    at += digits;
  };
  put(date.getUTCFullYear() % 10 ** yearDigits, yearDigits);
  put(date.getUTCMonth() + 1, 2);
  put(date.getUTCDate(), 2);
  put(date.getUTCHours(), 2);
  put(date.getUTCMinutes(), 2);
  put(date.getUTCSeconds(), 2);
  out[at] = 0x5a;
  return at + 1;
}

/** [n] constructed: an EXPLICIT tag around one element, or an IMPLICIT tag over a SEQUENCE/SET's content. */
export const contextConstructed = (n: number, ...content: readonly Buffer[]): Buffer => tlv(0xa0 | n, ...content);

/** [n] IMPLICIT over primitive content (rfc822Name, uniformResourceIdentifier, keyIdentifier). */
export const contextPrimitive = (n: number, content: Buffer): Buffer => tlv(0x80 | n, content);
