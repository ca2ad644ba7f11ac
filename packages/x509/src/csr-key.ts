/**
 * The SubjectPublicKeyInfo of a PKCS#10 request, found with the one DER
 * reader: CertificationRequest -> CertificationRequestInfo -> version,
 * subject, subjectPKInfo. The client needs only this field (the server's
 * parser checks the rest of the request), and refuses what it cannot find in
 * the parser's own words.
 */
import { bytesOf, childrenOf, readElement } from './der-reader.js';

const SEQUENCE = 0x30;
const INTEGER = 0x02;

export function csrSubjectPublicKeyInfo(der: Buffer): Buffer {
  try {
    const request = readElement(der);
    // Trailing bytes are the parser's to refuse, with its own reason.
    if (request.tag !== SEQUENCE) throw new Error();
    const [info] = childrenOf(der, request);
    const [version, subject, spki] = info?.tag === SEQUENCE ? childrenOf(der, info) : [];
    if (version?.tag !== INTEGER || subject?.tag !== SEQUENCE || spki?.tag !== SEQUENCE) throw new Error();
    return Buffer.from(bytesOf(der, spki));
  } catch {
    throw new Error('CSR is not a PKCS#10 certification request');
  }
}
