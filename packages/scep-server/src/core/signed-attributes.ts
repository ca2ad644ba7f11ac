/**
 * The bytes a CMS signature covers (RFC 5652 §5.4): the DER encoding of the
 * SignedAttributes as a SET OF, tagged as SET rather than [0]. Verifiers
 * (OpenSSL, Go's pkcs7 on encoding/asn1, which sorts SET OF since Go 1.15)
 * re-encode received attributes in DER order before checking, and so does
 * this: what a client signed in DER is found again, and what we sign is
 * sent in the order the client will re-encode it in.
 */
import type { Attribute } from '@peculiar/asn1-cms';
import * as asn1js from 'asn1js';
import { bufferOf, derOf } from './der.js';

/** Attributes in DER SET OF order, and the bytes a signature over them covers. */
export function orderForSigning(attributes: readonly Attribute[]): { attributes: Attribute[]; signingInput: Buffer } {
  const encoded = attributes.map((attribute) => ({ attribute, der: derOf(attribute) }));
  encoded.sort((a, b) => Buffer.compare(a.der, b.der));
  const set = new asn1js.Set({ value: encoded.map(({ der }) => asn1js.fromBER(der).result) });
  return { attributes: encoded.map(({ attribute }) => attribute), signingInput: bufferOf(set.toBER()) };
}
