/**
 * Takes a pkiMessage apart (RFC 8894 §3.2): a ContentInfo holding a
 * SignedData with one signer, signed attributes, and the pkcsPKIEnvelope as
 * id-data content. Nothing is trusted yet; signer-verification.ts checks
 * the signature.
 */
import { ContentInfo, id_data, id_signedData, SignedData, type Attribute, type EncapsulatedContent, type SignerInfo } from '@peculiar/asn1-cms';
import type { Certificate } from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';
import { AttributeSet } from './attribute-values.js';
import { bufferOf, parseExactly } from './der.js';
import { ScepError } from './fail-info.js';
import { MAX_CERTIFICATES_IN_REQUEST, MAX_PKI_MESSAGE_BYTES } from './limits.js';

export interface OpenedSignedData {
  readonly signerInfo: SignerInfo;
  readonly signedAttributes: readonly Attribute[];
  readonly attributes: AttributeSet;
  readonly certificates: readonly Certificate[];
  readonly content: Buffer;
}

export function openSignedData(der: Uint8Array): OpenedSignedData {
  if (der.byteLength > MAX_PKI_MESSAGE_BYTES) throw new ScepError('badRequest', `the pkiMessage is larger than ${MAX_PKI_MESSAGE_BYTES} bytes`);
  const contentInfo = parseExactly(der, ContentInfo, 'the pkiMessage');
  if (contentInfo.contentType !== id_signedData) throw new ScepError('badRequest', 'the pkiMessage is not a SignedData');
  const signedData = parseExactly(contentInfo.content, SignedData, 'the SignedData');

  const [signerInfo, ...otherSigners] = signedData.signerInfos;
  if (signerInfo === undefined || otherSigners.length > 0) throw new ScepError('badRequest', 'the pkiMessage must have exactly one signer');
  const { signedAttrs } = signerInfo;
  if (signedAttrs === undefined || signedAttrs.length === 0) throw new ScepError('badRequest', 'the pkiMessage has no signed attributes');

  const { eContentType, eContent } = signedData.encapContentInfo;
  if (eContentType !== id_data) throw new ScepError('badRequest', 'the pkiMessage does not carry its envelope as data');

  const certificates = (signedData.certificates ?? []).flatMap((choice) => (choice.certificate ? [choice.certificate] : []));
  if (certificates.length > MAX_CERTIFICATES_IN_REQUEST) throw new ScepError('badRequest', 'the pkiMessage carries too many certificates');

  return { signerInfo, signedAttributes: signedAttrs, attributes: new AttributeSet(signedAttrs), certificates, content: contentOf(eContent) };
}

/** BER senders (OpenSSL streaming, BouncyCastle) may cut the content into a constructed OCTET STRING. */
function contentOf(eContent: EncapsulatedContent | undefined): Buffer {
  if (eContent?.single !== undefined) return bufferOf(eContent.single.buffer);
  const constructed = eContent?.any === undefined ? undefined : asn1js.fromBER(eContent.any).result;
  if (constructed instanceof asn1js.OctetString) return bufferOf(constructed.getValue());
  throw new ScepError('badRequest', 'the pkiMessage carries no envelope');
}
