/**
 * The RA's SignedData around a reply (RFC 8894 §3.3.2): id-data content,
 * the RA certificate, and one signer with the SCEP attributes plus
 * contentType and messageDigest, signed with SHA-256 and RSA.
 */
import {
  Attribute,
  CMSVersion,
  ContentInfo,
  DigestAlgorithmIdentifier,
  DigestAlgorithmIdentifiers,
  EncapsulatedContent,
  EncapsulatedContentInfo,
  id_data,
  id_signedData,
  SignatureAlgorithmIdentifier,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
} from '@peculiar/asn1-cms';
import { AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import { createHash, sign } from 'node:crypto';
import { objectIdentifierValue, octetStringValue } from './attribute-values.js';
import { derOf } from './der.js';
import { SHA256_OID } from './digest-algorithms.js';
import { certificateSetOf } from './encoded-sets.js';
import type { RaCredentials } from './ra-credentials.js';
import { ID_CONTENT_TYPE, ID_MESSAGE_DIGEST } from './scep-oids.js';
import { orderForSigning } from './signed-attributes.js';
import { SHA256_WITH_RSA } from './signature-algorithms.js';

export function signByRa(content: Buffer, scepAttributes: readonly Attribute[], ra: RaCredentials): Buffer {
  const { attributes, signingInput } = orderForSigning([
    new Attribute({ attrType: ID_CONTENT_TYPE, attrValues: [objectIdentifierValue(id_data)] }),
    new Attribute({ attrType: ID_MESSAGE_DIGEST, attrValues: [octetStringValue(createHash('sha256').update(content).digest())] }),
    ...scepAttributes,
  ]);
  const digestAlgorithm = new DigestAlgorithmIdentifier({ algorithm: SHA256_OID, parameters: null });
  const signerInfo = new SignerInfo({
    version: CMSVersion.v1,
    sid: new SignerIdentifier({ issuerAndSerialNumber: ra.issuerAndSerial }),
    digestAlgorithm,
    signedAttrs: attributes,
    signatureAlgorithm: new SignatureAlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: null }),
    signature: new OctetString(sign('sha256', signingInput, ra.privateKey)),
  });
  const signedData = new SignedData({
    version: CMSVersion.v1,
    digestAlgorithms: new DigestAlgorithmIdentifiers([digestAlgorithm]),
    encapContentInfo: new EncapsulatedContentInfo({ eContentType: id_data, eContent: new EncapsulatedContent({ single: new OctetString(content) }) }),
    certificates: certificateSetOf([ra.certificateDer]),
    signerInfos: new SignerInfos([signerInfo]),
  });
  return derOf(new ContentInfo({ contentType: id_signedData, content: AsnSerializer.serialize(signedData) }));
}
