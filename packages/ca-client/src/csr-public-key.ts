/**
 * The SubjectPublicKeyInfo of a PKCS#10 request, found by walking the DER by
 * hand: CertificationRequest -> CertificationRequestInfo -> version,
 * subject, subjectPKInfo. An ASN.1 library would do the same, but loading one
 * costs start-up time on every logon, and the client needs only this one
 * field (the server's parser checks the rest of the request).
 */
import { badRequest } from '@etoken-ca/contract/exit-codes';

const SEQUENCE = 0x30;
const INTEGER = 0x02;

interface Element {
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/** One DER tag-length-value at `offset`, kept inside `limit`; definite lengths only. */
function element(der: Uint8Array, offset: number, limit: number, expectedTag: number): Element {
  const tag = der[offset];
  const first = der[offset + 1];
  if (tag !== expectedTag || first === undefined) throw malformed();
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 3) throw malformed();
    length = 0;
    for (let i = 0; i < octets; i++) {
      const octet = der[contentStart + i];
      if (octet === undefined) throw malformed();
      length = length * 256 + octet;
    }
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > limit) throw malformed();
  return { start: offset, contentStart, end };
}

function malformed(): Error {
  return badRequest('CSR is not a DER CertificationRequest');
}

export function csrSubjectPublicKeyInfo(der: Uint8Array): Buffer {
  const request = element(der, 0, der.length, SEQUENCE);
  if (request.end !== der.length) throw malformed();
  const info = element(der, request.contentStart, request.end, SEQUENCE);
  const version = element(der, info.contentStart, info.end, INTEGER);
  const subject = element(der, version.end, info.end, SEQUENCE);
  const spki = element(der, subject.end, info.end, SEQUENCE);
  return Buffer.from(der.subarray(spki.start, spki.end));
}
