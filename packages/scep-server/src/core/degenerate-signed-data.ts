/**
 * Certs-only SignedData (RFC 8894 §3.4, "degenerate"): no content, no
 * signer, only certificates or a CRL. GetCACert answers with one, and a
 * successful CertRep envelopes one.
 */
import { CMSVersion, ContentInfo, DigestAlgorithmIdentifiers, EncapsulatedContentInfo, id_data, id_signedData, SignedData, SignerInfos } from '@peculiar/asn1-cms';
import { AsnSerializer } from '@peculiar/asn1-schema';
import { derOf } from './der.js';
import { certificateSetOf, revocationInfoOf } from './encoded-sets.js';

export function certificatesOnly(certificates: readonly Buffer[]): Buffer {
  return degenerate({ certificates: certificateSetOf(certificates) });
}

export function crlOnly(crl: Buffer): Buffer {
  return degenerate({ crls: revocationInfoOf([crl]) });
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
