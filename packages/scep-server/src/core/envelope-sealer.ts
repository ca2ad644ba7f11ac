/**
 * The pkcsPKIEnvelope of a reply: an EnvelopedData for the requester's
 * signer certificate (RSA key transport, PKCS#1 v1.5, which is what SCEP
 * clients decrypt), wrapped in a ContentInfo.
 */
import {
  CMSVersion,
  ContentEncryptionAlgorithmIdentifier,
  ContentInfo,
  EncryptedContent,
  EncryptedContentInfo,
  EnvelopedData,
  id_data,
  id_envelopedData,
  KeyEncryptionAlgorithmIdentifier,
  KeyTransRecipientInfo,
  RecipientIdentifier,
  RecipientInfo,
  RecipientInfos,
} from '@peculiar/asn1-cms';
import { AsnParser, AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { X509Certificate } from 'node:crypto';
import { CONTENT_CIPHERS, encryptContent, type ContentCipherName } from './content-ciphers.js';
import { derOf } from './der.js';
import { issuerAndSerialOf } from './issuer-and-serial.js';
import { wrapContentKey } from './rsa-key-transport.js';
import { RSA_ENCRYPTION } from './scep-oids.js';

export function sealEnvelope(content: Buffer, recipientCertificate: Buffer, cipher: ContentCipherName): Buffer {
  const { key, iv, ciphertext } = encryptContent(cipher, content);
  const recipient = new KeyTransRecipientInfo({
    version: CMSVersion.v0,
    rid: new RecipientIdentifier({ issuerAndSerialNumber: issuerAndSerialOf(AsnParser.parse(recipientCertificate, Certificate)) }),
    keyEncryptionAlgorithm: new KeyEncryptionAlgorithmIdentifier({ algorithm: RSA_ENCRYPTION, parameters: null }),
    encryptedKey: new OctetString(wrapContentKey(new X509Certificate(recipientCertificate).publicKey, key)),
  });
  const enveloped = new EnvelopedData({
    version: CMSVersion.v0,
    recipientInfos: new RecipientInfos([new RecipientInfo({ ktri: recipient })]),
    encryptedContentInfo: new EncryptedContentInfo({
      contentType: id_data,
      contentEncryptionAlgorithm: new ContentEncryptionAlgorithmIdentifier({ algorithm: CONTENT_CIPHERS[cipher].oid, parameters: AsnSerializer.serialize(new OctetString(iv)) }),
      encryptedContent: new EncryptedContent({ value: new OctetString(ciphertext) }),
    }),
  });
  return derOf(new ContentInfo({ contentType: id_envelopedData, content: AsnSerializer.serialize(enveloped) }));
}
