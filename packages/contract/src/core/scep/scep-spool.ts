/**
 * What etoken-ca-scep and the CA server exchange through the SCEP spool
 * (SCEP_SPOOL_DIR, the same directory pair, names, locks and checks as the
 * MyProxy spool: see ../spool.ts; only the contents differ).
 *
 * A request entry is one PKIOperation as the client sent it, plus the
 * content-encryption key the front end recovered from its envelope with the
 * RA key:
 *
 *   scep-request 1 <content key, hex>\n<the pkiMessage, DER>
 *
 * The root supervisor never decodes it: it hands the bytes to the request
 * parser, which verifies the signature and opens the envelope with that key.
 *
 * The answer is one JSON line: what the front end needs to build the CertRep
 * it signs with the RA key.
 */
import { parseJsonObject } from '../json-object.js';

export const SCEP_FAIL_INFOS = ['badAlg', 'badMessageCheck', 'badRequest', 'badTime', 'badCertId'] as const;
export type ScepFailInfo = (typeof SCEP_FAIL_INFOS)[number];

/** A content key is 8 (single DES) to 32 (AES-256) bytes. */
const HEADER = /^scep-request 1 ((?:[0-9a-f]{2}){8,32})\n/;
const MAX_HEADER = 'scep-request 1 \n'.length + 64;

export interface ScepSpoolRequest {
  readonly contentKey: Buffer;
  readonly message: Buffer;
}

export function encodeScepSpoolRequest(request: ScepSpoolRequest): Buffer {
  return Buffer.concat([Buffer.from(`scep-request 1 ${request.contentKey.toString('hex')}\n`, 'latin1'), request.message]);
}

/** Null for bytes that are not a request entry. */
export function decodeScepSpoolRequest(bytes: Buffer): ScepSpoolRequest | null {
  const end = bytes.indexOf(0x0a);
  if (end < 0 || end >= MAX_HEADER) return null;
  const m = HEADER.exec(bytes.toString('latin1', 0, end + 1));
  if (!m || end + 1 === bytes.length) return null;
  return { contentKey: Buffer.from(m[1]!, 'hex'), message: bytes.subarray(end + 1) };
}

export type ScepAnswer =
  /** `certificate`: the issued certificate (PKCSReq, RenewalReq, CertPoll, GetCert); `crl`: the CRL (GetCRL). DER, base64. */
  | { readonly status: 'SUCCESS'; readonly certificate: string }
  | { readonly status: 'SUCCESS'; readonly crl: string }
  | { readonly status: 'PENDING' }
  | { readonly status: 'FAILURE'; readonly failInfo: ScepFailInfo; readonly reason: string };

export function formatScepAnswer(answer: ScepAnswer): string {
  return `${JSON.stringify(answer)}\n`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function parseScepAnswer(text: string): ScepAnswer | null {
  const a = parseJsonObject(text);
  if (!a) return null;
  switch (a.status) {
    case 'SUCCESS':
      if (typeof a.certificate === 'string' && BASE64.test(a.certificate)) return { status: 'SUCCESS', certificate: a.certificate };
      if (typeof a.crl === 'string' && BASE64.test(a.crl)) return { status: 'SUCCESS', crl: a.crl };
      return null;
    case 'PENDING':
      return { status: 'PENDING' };
    case 'FAILURE':
      if (typeof a.reason !== 'string' || !(SCEP_FAIL_INFOS as readonly unknown[]).includes(a.failInfo)) return null;
      return { status: 'FAILURE', failInfo: a.failInfo as ScepFailInfo, reason: a.reason };
    default:
      return null;
  }
}
