/**
 * Just enough DER reading to slice raw elements out of a certificate (the
 * CA's subject copied verbatim, the issuer and SPKI of a TBS about to be
 * signed) and to read back the few fields the invariant checks look at.
 * The schema libraries re-encode what they parse, which is not byte-exact for
 * names, and @peculiar/asn1-x509 takes about as long to parse a TBS as the
 * token takes to sign it: too slow for a check on every certificate.
 */

export interface DerElement {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

function malformed(why: string): never {
  throw new Error(`malformed DER: ${why}`);
}

/** The element at `offset`, which must end within `limit`. Definite lengths and one-byte tags only, as DER certificates use. */
export function readElement(der: Buffer, offset = 0, limit = der.length): DerElement {
  if (offset + 2 > limit) malformed('truncated header');
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) malformed('multi-byte tag');
  const first = der[offset + 1]!;
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) malformed('unsupported length');
    if (contentStart + count > limit) malformed('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) malformed('element longer than its container');
  return { tag, start: offset, contentStart, end };
}

/** The elements inside a constructed element. */
export function childrenOf(der: Buffer, parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const child = readElement(der, offset, parent.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

export const contentOf = (der: Buffer, element: DerElement): Buffer => der.subarray(element.contentStart, element.end);

export const bytesOf = (der: Buffer, element: DerElement): Buffer => der.subarray(element.start, element.end);

/** An OBJECT IDENTIFIER's content octets in dotted form. */
export function decodeOid(content: Buffer): string {
  const arcs: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) malformed('OID arc too large');
    if (byte & 0x80) continue;
    arcs.push(value);
    value = 0;
  }
  const [first] = arcs;
  if (first === undefined || content[content.length - 1]! & 0x80) malformed('truncated OID');
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) as milliseconds since the epoch. */
export function decodeTime(der: Buffer, element: DerElement): number {
  const text = contentOf(der, element).toString('latin1');
  const digits = element.tag === 0x17 && /^\d{12}Z$/.test(text) ? `${Number(text.slice(0, 2)) < 50 ? '20' : '19'}${text}` : text;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(digits);
  if (!m || (element.tag !== 0x17 && element.tag !== 0x18)) malformed('time is not UTCTime or GeneralizedTime in whole seconds, Z');
  const [, year, month, day, hour, minute, second] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day) malformed('time is not a calendar date');
  return ms;
}
