/**
 * RFC 5652 §5.6 for a SCEP request: the signer is the certificate the
 * SignedData itself carries (self-signed for a first enrollment, issued for
 * a renewal), the message digest covers the envelope, and the signature
 * covers the signed attributes. The signer's key must be RSA: the reply is
 * enveloped to it.
 */
import { id_data } from '@peculiar/asn1-cms';
import type { Certificate } from '@peculiar/asn1-x509';
import { constants, createHash, verify, X509Certificate, type KeyObject } from 'node:crypto';
import type { AlgorithmPolicy } from './algorithm-policy.js';
import { derOf } from './der.js';
import { digestByOid, type DigestName } from './digest-algorithms.js';
import { ScepError } from './fail-info.js';
import { issuerAndSerialOf, sameIssuerAndSerial } from './issuer-and-serial.js';
import { ID_CONTENT_TYPE, ID_MESSAGE_DIGEST } from './scep-oids.js';
import type { OpenedSignedData } from './signed-data-opener.js';
import { orderForSigning } from './signed-attributes.js';
import { isRsaSignatureWith } from './signature-algorithms.js';

export interface VerifiedSigner {
  readonly certificateDer: Buffer;
  readonly certificate: X509Certificate;
  /**
   * Names itself as issuer and verifies with its own key. (OpenSSL's
   * checkIssued would also want keyCertSign, which the throw-away
   * certificates of SCEP clients do not have.)
   */
  readonly selfSigned: boolean;
  readonly digest: DigestName;
}

export function verifySigner(opened: OpenedSignedData, policy: AlgorithmPolicy): VerifiedSigner {
  const { signerInfo, attributes } = opened;
  const digest = digestByOid(signerInfo.digestAlgorithm.algorithm);
  if (digest === undefined || !policy.digests.has(digest)) throw new ScepError('badAlg', `digest ${digest ?? signerInfo.digestAlgorithm.algorithm} is not accepted`);
  if (!isRsaSignatureWith(signerInfo.signatureAlgorithm.algorithm, digest)) {
    throw new ScepError('badAlg', `signature algorithm ${signerInfo.signatureAlgorithm.algorithm} is not RSA with ${digest}`);
  }

  const signer = signerCertificate(opened);
  const certificateDer = derOf(signer);
  let certificate: X509Certificate;
  let publicKey: KeyObject;
  try {
    certificate = new X509Certificate(certificateDer);
    publicKey = certificate.publicKey;
  } catch {
    throw new ScepError('badRequest', 'the signer certificate or its key does not parse');
  }
  if (publicKey.asymmetricKeyType !== 'rsa') throw new ScepError('badAlg', 'the signer key is not RSA, so no reply could be enveloped to it');

  if (attributes.objectIdentifier(ID_CONTENT_TYPE, 'contentType') !== id_data) throw new ScepError('badMessageCheck', 'the contentType attribute is not data');
  const messageDigest = attributes.octetString(ID_MESSAGE_DIGEST, 'messageDigest');
  if (messageDigest === undefined || !messageDigest.equals(createHash(digest).update(opened.content).digest())) {
    throw new ScepError('badMessageCheck', 'the messageDigest attribute does not match the content');
  }
  const signature = Buffer.from(signerInfo.signature.buffer);
  const { signingInput } = orderForSigning(opened.signedAttributes);
  if (!verify(digest, signingInput, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature)) {
    throw new ScepError('badMessageCheck', 'the signature does not verify with the signer certificate');
  }
  const { issuer, subject } = signer.tbsCertificate;
  const selfSigned = derOf(issuer).equals(derOf(subject)) && certificate.verify(publicKey);
  return { certificateDer, certificate, selfSigned, digest };
}

function signerCertificate(opened: OpenedSignedData): Certificate {
  const named = opened.signerInfo.sid.issuerAndSerialNumber;
  if (named === undefined) throw new ScepError('badMessageCheck', 'the signer is not named by issuer and serial number');
  const certificate = opened.certificates.find((candidate) => sameIssuerAndSerial(issuerAndSerialOf(candidate), named));
  if (certificate === undefined) throw new ScepError('badMessageCheck', 'the pkiMessage does not carry its signer certificate');
  return certificate;
}
