/**
 * A PKIOperation request (RFC 8894 §3.3), from the DER of its pkiMessage to
 * a checked request: signature verified with the certificate the message
 * carries, SCEP attributes read, envelope opened with the RA key, inner
 * content parsed. Every refusal is a ScepError; once the transaction id and
 * nonce are known it carries them, so the front end can answer with a
 * signed CertRep FAILURE.
 */
import { createPublicKey, type X509Certificate } from 'node:crypto';
import type { AlgorithmPolicy } from './algorithm-policy.js';
import type { AttributeSet } from './attribute-values.js';
import type { ContentCipherName } from './content-ciphers.js';
import { inspectCsr, type CsrFacts } from './csr.js';
import type { DigestName } from './digest-algorithms.js';
import { openEnvelope, type EnvelopeKey } from './envelope-opener.js';
import { refusingMalformed, ScepError, withReplyTo, type ReplyTo } from './fail-info.js';
import { MAX_NONCE_BYTES, MAX_TRANSACTION_ID_CHARS, MIN_NONCE_BYTES } from './limits.js';
import { requestMessageType, type RequestMessageType } from './message-types.js';
import { readIssuerAndSerial, readIssuerAndSubject, type IssuerAndSerial, type IssuerAndSubject } from './request-contents.js';
import { ID_MESSAGE_TYPE, ID_SENDER_NONCE, ID_SIGNING_TIME, ID_TRANSACTION_ID } from './scep-oids.js';
import { openSignedData, type OpenedSignedData } from './signed-data-opener.js';
import { verifySigner } from './signer-verification.js';

export interface RequestContext {
  /** The front end opens the envelope with the RA key; the CA's parser with the content key the front end recovered. */
  readonly envelopeKey: EnvelopeKey;
  readonly policy: AlgorithmPolicy;
  /** The CA certificates a RenewalReq's signer must have been issued by. */
  readonly caCertificates: readonly X509Certificate[];
  readonly now: Date;
  /** How far a signingTime attribute may be from `now`. */
  readonly maxClockSkewMs: number;
}

interface RequestFacts extends ReplyTo {
  /** The signer certificate (DER); replies are enveloped to its key. */
  readonly signerCertificate: Buffer;
  /** Self-signed (a first enrollment; for a CSR, with the CSR's own key), or issued (renewal, authorised signer). */
  readonly signerSelfSigned: boolean;
  readonly digest: DigestName;
  readonly contentCipher: ContentCipherName;
  /** The content-encryption key of the request's envelope. */
  readonly contentKey: Buffer;
}

export type PkiRequest = RequestFacts &
  (
    | { readonly messageType: 'PKCSReq' | 'RenewalReq'; readonly csr: CsrFacts }
    | { readonly messageType: 'CertPoll'; readonly issuerAndSubject: IssuerAndSubject }
    | { readonly messageType: 'GetCert' | 'GetCRL'; readonly issuerAndSerial: IssuerAndSerial }
  );

export function parsePkiMessage(der: Uint8Array, context: RequestContext): PkiRequest {
  const opened = refusingMalformed('the pkiMessage', () => openSignedData(der));
  const replyTo = refusingMalformed('the pkiMessage', () => readReplyTo(opened.attributes));
  try {
    return refusingMalformed('the pkiMessage', () => readRequest(opened, replyTo, context));
  } catch (error) {
    throw withReplyTo(error, replyTo);
  }
}

function readRequest(opened: OpenedSignedData, replyTo: ReplyTo, context: RequestContext): PkiRequest {
  const messageType = readMessageType(opened.attributes);
  const signer = verifySigner(opened, context.policy);
  checkSigningTime(opened.attributes, context);
  if (messageType === 'RenewalReq' && (signer.selfSigned || !issuedByCa(signer.certificate, context.caCertificates))) {
    throw new ScepError('badCertId', 'a RenewalReq must be signed with a certificate this CA issued');
  }
  const { content, cipher, contentKey } = openEnvelope(opened.content, context.envelopeKey, context.policy);
  const facts: RequestFacts = { ...replyTo, signerCertificate: signer.certificateDer, signerSelfSigned: signer.selfSigned, digest: signer.digest, contentCipher: cipher, contentKey };
  switch (messageType) {
    case 'PKCSReq':
    case 'RenewalReq': {
      const csr = inspectCsr(content, context.policy);
      if (signer.selfSigned && !createPublicKey({ key: csr.spki, format: 'der', type: 'spki' }).equals(signer.certificate.publicKey)) {
        throw new ScepError('badMessageCheck', 'the self-signed signer certificate does not carry the key of the CSR');
      }
      return { ...facts, messageType, csr };
    }
    case 'CertPoll':
      return { ...facts, messageType, issuerAndSubject: readIssuerAndSubject(content) };
    case 'GetCert':
    case 'GetCRL':
      return { ...facts, messageType, issuerAndSerial: readIssuerAndSerial(content) };
  }
}

function readReplyTo(attributes: AttributeSet): ReplyTo {
  const transactionId = attributes.printableString(ID_TRANSACTION_ID, 'transactionID', MAX_TRANSACTION_ID_CHARS);
  const senderNonce = attributes.octetString(ID_SENDER_NONCE, 'senderNonce');
  if (transactionId === undefined || senderNonce === undefined) throw new ScepError('badRequest', 'the transactionID or senderNonce attribute is missing');
  if (senderNonce.length < MIN_NONCE_BYTES || senderNonce.length > MAX_NONCE_BYTES) throw new ScepError('badRequest', 'the senderNonce has an unreasonable length');
  return { transactionId, senderNonce };
}

function readMessageType(attributes: AttributeSet): RequestMessageType {
  const code = attributes.printableString(ID_MESSAGE_TYPE, 'messageType', 2);
  const type = code === undefined ? undefined : requestMessageType(code);
  if (type === undefined) throw new ScepError('badRequest', `messageType ${code ?? '(missing)'} is not a request this server handles`);
  return type;
}

function checkSigningTime(attributes: AttributeSet, { now, maxClockSkewMs }: RequestContext): void {
  const signingTime = attributes.time(ID_SIGNING_TIME, 'signingTime');
  if (signingTime !== undefined && Math.abs(signingTime.getTime() - now.getTime()) > maxClockSkewMs) {
    throw new ScepError('badTime', `signingTime ${signingTime.toISOString()} is too far from the server's clock`);
  }
}

function issuedByCa(certificate: X509Certificate, caCertificates: readonly X509Certificate[]): boolean {
  return caCertificates.some((ca) => certificate.checkIssued(ca) && certificate.verify(ca.publicKey));
}
