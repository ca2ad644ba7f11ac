/**
 * CertRep replies (RFC 8894 §3.3.2), signed by the RA: messageType 3, the
 * pkiStatus, the transactionID echoed, recipientNonce = the request's
 * senderNonce, a fresh senderNonce. SUCCESS envelopes a certs-only
 * SignedData (the issued certificate first, or a CRL for GetCRL) to the
 * requester's signer certificate; FAILURE names a failInfo; PENDING and
 * FAILURE carry empty content.
 */
import { Attribute } from '@peculiar/asn1-cms';
import { randomBytes } from 'node:crypto';
import { octetStringValue, printableStringValue } from './attribute-values.js';
import { replyCipherFor, type ContentCipherName } from './content-ciphers.js';
import { certificatesOnly, crlOnly } from './degenerate-signed-data.js';
import { sealEnvelope } from './envelope-sealer.js';
import { FAIL_INFO_CODES, type FailInfo, type ReplyTo } from './fail-info.js';
import { CERT_REP, PKI_STATUS } from './message-types.js';
import type { RaCredentials } from './ra-credentials.js';
import { ID_FAIL_INFO, ID_MESSAGE_TYPE, ID_PKI_STATUS, ID_RECIPIENT_NONCE, ID_SENDER_NONCE, ID_TRANSACTION_ID } from './scep-oids.js';
import { signByRa } from './signed-data-writer.js';

/** What a SUCCESS needs besides the echo: whom to envelope to, and in what cipher the request came. */
export interface EnvelopeTo extends ReplyTo {
  readonly signerCertificate: Buffer;
  readonly contentCipher: ContentCipherName;
}

export type Issued = { readonly certificates: readonly Buffer[] } | { readonly crl: Buffer };

const NONCE_BYTES = 16;

export function successReply(to: EnvelopeTo, issued: Issued, ra: RaCredentials): Buffer {
  const payload = 'crl' in issued ? crlOnly(issued.crl) : certificatesOnly(issued.certificates);
  const envelope = sealEnvelope(payload, to.signerCertificate, replyCipherFor(to.contentCipher));
  return signByRa(envelope, replyAttributes(to, PKI_STATUS.SUCCESS), ra);
}

export function pendingReply(to: ReplyTo, ra: RaCredentials): Buffer {
  return signByRa(Buffer.alloc(0), replyAttributes(to, PKI_STATUS.PENDING), ra);
}

export function failureReply(to: ReplyTo, failInfo: FailInfo, ra: RaCredentials): Buffer {
  const failure = new Attribute({ attrType: ID_FAIL_INFO, attrValues: [printableStringValue(FAIL_INFO_CODES[failInfo])] });
  return signByRa(Buffer.alloc(0), [...replyAttributes(to, PKI_STATUS.FAILURE), failure], ra);
}

function replyAttributes(to: ReplyTo, status: string): Attribute[] {
  return [
    new Attribute({ attrType: ID_MESSAGE_TYPE, attrValues: [printableStringValue(CERT_REP)] }),
    new Attribute({ attrType: ID_PKI_STATUS, attrValues: [printableStringValue(status)] }),
    new Attribute({ attrType: ID_TRANSACTION_ID, attrValues: [printableStringValue(to.transactionId)] }),
    new Attribute({ attrType: ID_RECIPIENT_NONCE, attrValues: [octetStringValue(to.senderNonce)] }),
    new Attribute({ attrType: ID_SENDER_NONCE, attrValues: [octetStringValue(randomBytes(NONCE_BYTES))] }),
  ];
}
