/**
 * The certificate and CRL sets of a SignedData, filled with DER that is
 * already encoded. asn1-cms would hold each certificate as a parsed object
 * and encode it again for every message (most of the cost of a reply); a
 * SET of the certificates' own DER encodes to the same bytes as
 * `certificates [0] IMPLICIT CertificateSet`, and goes out byte for byte.
 * asn1-cms 2.11 knows only the `other` alternative of RevocationInfoChoice
 * (RFC 5652 §10.2.1), not a plain CertificateList, so CRLs travel the same
 * way in `crls [1] IMPLICIT RevocationInfoChoices`.
 */
import type { CertificateSet, RevocationInfoChoices } from '@peculiar/asn1-cms';
import { AsnArray, AsnPropTypes, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema';
import { arrayBufferOf } from './der.js';

class EncodedSet extends AsnArray<ArrayBuffer> {}
AsnType({ type: AsnTypeTypes.Set, itemType: AsnPropTypes.Any })(EncodedSet);

export function certificateSetOf(certificates: readonly Buffer[]): CertificateSet {
  return new EncodedSet(certificates.map(arrayBufferOf)) as unknown as CertificateSet;
}

export function revocationInfoOf(crls: readonly Buffer[]): RevocationInfoChoices {
  return new EncodedSet(crls.map(arrayBufferOf)) as unknown as RevocationInfoChoices;
}
