/**
 * Whether bytes are one element in canonical DER (X.690 10): minimal
 * definite lengths, primitive encodings of the primitive types, minimal
 * INTEGERs and OID arcs, BOOLEAN as 00/FF, BIT STRING padding bits zero, and
 * nothing after the element. Checked in one linear walk with an explicit
 * stack of container ends: hostile nesting costs no recursion. OCTET and BIT
 * STRING contents are opaque here; whoever reads inside them checks them.
 */
import { readElement } from '@etoken-ca/x509/der-reader';

const TAG = { boolean: 0x01, integer: 0x02, bitString: 0x03, null: 0x05, oid: 0x06 } as const;
const CONSTRUCTED = 0x20;
const UNIVERSAL_CLASS = 0x00;
/** SEQUENCE and SET: the only universal types DER encodes constructed. */
const isSequenceOrSet = (tag: number): boolean => (tag & 0x1f) === 16 || (tag & 0x1f) === 17;

/** The header length DER prescribes for a content of `length` bytes. */
function headerLength(length: number): number {
  let bytes = 0;
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes++;
  return length < 0x80 ? 2 : 2 + bytes;
}

function primitiveIsCanonical(tag: number, content: Buffer): boolean {
  switch (tag) {
    case TAG.boolean:
      return content.length === 1 && (content[0] === 0x00 || content[0] === 0xff);
    case TAG.integer: {
      if (content.length < 2) return content.length === 1;
      const ninth = content[1]! & 0x80;
      return !(content[0] === 0x00 && !ninth) && !(content[0] === 0xff && ninth);
    }
    case TAG.bitString: {
      const unused = content[0];
      if (unused === undefined || unused > 7 || (unused > 0 && content.length === 1)) return false;
      return (content[content.length - 1]! & ((1 << unused) - 1)) === 0;
    }
    case TAG.null:
      return content.length === 0;
    case TAG.oid:
      // No arc may start with a 0x80 octet, and the last octet ends an arc.
      return content.length > 0 && !(content[content.length - 1]! & 0x80) && content.every((byte, i) => byte !== 0x80 || (i > 0 && content[i - 1]! & 0x80));
    default:
      return true;
  }
}

export function isCanonicalDer(der: Buffer): boolean {
  try {
    return walk(der);
  } catch {
    // A malformed element somewhere inside (e.g. in a value nobody else reads).
    return false;
  }
}

function walk(der: Buffer): boolean {
  const ends: number[] = [der.length];
  let at = 0;
  let elements = 0;
  while (at < der.length) {
    while (at === ends[ends.length - 1]) ends.pop();
    const element = readElement(der, at, ends[ends.length - 1]);
    if (element.contentStart - element.start !== headerLength(element.end - element.contentStart)) return false;
    // Only the first element may sit at the top level: anything after it is trailing data.
    if (ends.length === 1 && elements++ > 0) return false;
    const constructed = (element.tag & CONSTRUCTED) !== 0;
    if ((element.tag & 0xc0) === UNIVERSAL_CLASS && constructed !== isSequenceOrSet(element.tag)) return false;
    if (constructed && element.end > element.contentStart) {
      ends.push(element.end);
      at = element.contentStart;
      continue;
    }
    if (!constructed && (element.tag & 0xc0) === UNIVERSAL_CLASS && !primitiveIsCanonical(element.tag, der.subarray(element.contentStart, element.end))) return false;
    at = element.end;
  }
  return elements === 1;
}
