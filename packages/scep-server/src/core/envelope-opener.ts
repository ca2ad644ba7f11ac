/**
 * Opens the pkcsPKIEnvelope of a request (RFC 8894 §3.2.2): a ContentInfo
 * holding an EnvelopedData with a KeyTransRecipientInfo for the RA. Other
 * recipients (scepclient also envelopes to the CA certificate) are skipped.
 *
 * The front end opens it with the RA key and passes the content key it
 * recovered into the spool with the message; the CA's request parser, which
 * never holds the RA key, opens the same envelope with that content key. A
 * wrong key fails there as a wrong RA key fails here: the content does not
 * decrypt.
 */
import { ContentInfo, EnvelopedData, id_envelopedData, type EncryptedContent, type KeyTransRecipientInfo } from '@peculiar/asn1-cms';
import { OctetString } from '@peculiar/asn1-schema';
import type { AlgorithmPolicy } from './algorithm-policy.js';
import { CONTENT_CIPHERS, contentCipherByOid, decryptContent, type ContentCipherName } from './content-ciphers.js';
import { bufferOf, parseExactly } from './der.js';
import { ScepError } from './fail-info.js';
import { sameIssuerAndSerial } from './issuer-and-serial.js';
import { MAX_RECIPIENTS_IN_REQUEST } from './limits.js';
import type { RaCredentials } from './ra-credentials.js';
import { unwrapContentKey } from './rsa-key-transport.js';
import { RSA_ENCRYPTION } from './scep-oids.js';

export interface OpenedEnvelope {
  readonly content: Buffer;
  readonly cipher: ContentCipherName;
  /** The content-encryption key, as the CA's parser needs it to open the same envelope. */
  readonly contentKey: Buffer;
}

/** The RA key (the front end), or the content key the front end recovered with it (the CA's parser). */
export type EnvelopeKey = { readonly ra: RaCredentials } | { readonly contentKey: Buffer };

export function openEnvelope(der: Buffer, envelopeKey: EnvelopeKey, policy: AlgorithmPolicy): OpenedEnvelope {
  const contentInfo = parseExactly(der, ContentInfo, 'the pkcsPKIEnvelope');
  if (contentInfo.contentType !== id_envelopedData) throw new ScepError('badRequest', 'the pkcsPKIEnvelope is not an EnvelopedData');
  const enveloped = parseExactly(contentInfo.content, EnvelopedData, 'the EnvelopedData');
  const recipient = 'ra' in envelopeKey ? recipientFor(enveloped, envelopeKey.ra) : undefined;
  if (recipient && recipient.keyEncryptionAlgorithm.algorithm !== RSA_ENCRYPTION) throw new ScepError('badAlg', 'the content key is not transported with rsaEncryption');

  const { contentEncryptionAlgorithm, encryptedContent } = enveloped.encryptedContentInfo;
  const cipher = contentCipherByOid(contentEncryptionAlgorithm.algorithm);
  if (cipher === undefined || !policy.contentCiphers.has(cipher)) {
    throw new ScepError('badAlg', `content encryption ${cipher ?? contentEncryptionAlgorithm.algorithm} is not accepted`);
  }
  const iv = initializationVector(contentEncryptionAlgorithm.parameters, CONTENT_CIPHERS[cipher].ivLength);
  const ciphertext = ciphertextOf(encryptedContent);
  const { keyLength } = CONTENT_CIPHERS[cipher];
  const key = recipient && 'ra' in envelopeKey ? unwrapContentKey(envelopeKey.ra.privateKey, bufferOf(recipient.encryptedKey.buffer), keyLength) : (envelopeKey as { contentKey: Buffer }).contentKey;
  if (key.length !== keyLength) throw new ScepError('badMessageCheck', 'the content key has the wrong length for the content cipher');
  try {
    return { content: decryptContent(cipher, key, iv, ciphertext), cipher, contentKey: key };
  } catch {
    throw new ScepError('badMessageCheck', 'the request envelope does not decrypt with the RA key');
  }
}

function recipientFor(enveloped: EnvelopedData, ra: RaCredentials): KeyTransRecipientInfo {
  if (enveloped.recipientInfos.length > MAX_RECIPIENTS_IN_REQUEST) throw new ScepError('badRequest', 'too many recipients');
  for (const { ktri } of enveloped.recipientInfos) {
    const named = ktri?.rid.issuerAndSerialNumber;
    if (ktri !== undefined && named !== undefined && sameIssuerAndSerial(named, ra.issuerAndSerial)) return ktri;
  }
  throw new ScepError('badRequest', 'the request is not enveloped to this RA certificate');
}

function initializationVector(parameters: ArrayBuffer | null | undefined, length: number): Buffer {
  const iv = parameters ? bufferOf(parseExactly(parameters, OctetString, 'the content encryption IV').buffer) : undefined;
  if (iv?.length !== length) throw new ScepError('badRequest', 'the content encryption IV is missing or of the wrong length');
  return iv;
}

function ciphertextOf(encrypted: EncryptedContent | undefined): Buffer {
  if (encrypted?.value !== undefined) return bufferOf(encrypted.value.buffer);
  if (encrypted?.constructedValue !== undefined) return Buffer.concat(encrypted.constructedValue.map((part) => bufferOf(part.buffer)));
  throw new ScepError('badRequest', 'the EnvelopedData carries no encrypted content');
}
