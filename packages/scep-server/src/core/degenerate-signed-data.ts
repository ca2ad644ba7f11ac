/**
 * Certs-only SignedData (RFC 8894 §3.4, "degenerate"): no content, no
 * signer, only certificates or a CRL. GetCACert answers with one, and a
 * successful CertRep envelopes one.
 */
import {
  CertificateChoices,
  CertificateSet,
  CMSVersion,
  ContentInfo,
  DigestAlgorithmIdentifiers,
  EncapsulatedContentInfo,
  id_data,
  id_signedData,
  RevocationInfoChoices,
  SignedData,
  SignerInfos,
} from '@peculiar/asn1-cms';
import { AsnArray, AsnPropTypes, AsnSerializer, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema';
import { reproducibleCertificate } from './certificate-der.js';
import { arrayBufferOf, derOf } from './der.js';

/**
 * asn1-cms 2.11 knows only the `other` alternative of RevocationInfoChoice
 * (RFC 5652 §10.2.1), not a plain CertificateList: a SET of the CRLs' own
 * DER encodes to the same bytes as `crls [1] IMPLICIT RevocationInfoChoices`.
 */
class CertificateLists extends AsnArray<ArrayBuffer> {}
AsnType({ type: AsnTypeTypes.Set, itemType: AsnPropTypes.Any })(CertificateLists);

export function certificatesOnly(certificates: readonly Buffer[]): Buffer {
  const choices = certificates.map((der, index) => new CertificateChoices({ certificate: reproducibleCertificate(der, `certificate ${index + 1}`) }));
  return degenerate({ certificates: new CertificateSet(choices) });
}

export function crlOnly(crl: Buffer): Buffer {
  const lists = new CertificateLists([arrayBufferOf(crl)]);
  return degenerate({ crls: lists as unknown as RevocationInfoChoices });
}

function degenerate(contents: Pick<SignedData, 'certificates' | 'crls'>): Buffer {
  const signedData = new SignedData({
    version: CMSVersion.v1,
    digestAlgorithms: new DigestAlgorithmIdentifiers(),
    encapContentInfo: new EncapsulatedContentInfo({ eContentType: id_data }),
    signerInfos: new SignerInfos(),
    ...contents,
  });
  return derOf(new ContentInfo({ contentType: id_signedData, content: AsnSerializer.serialize(signedData) }));
}
