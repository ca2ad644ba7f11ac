/** X.509's SIGNED wrapper, the same for a Certificate and a CertificateList (RFC 5280 4.1, 5.1). */
import { bitString, sequence } from './der.js';
import type { SignatureAlgorithm } from './signature-algorithm.js';

/** SEQUENCE { tbs, signatureAlgorithm, signatureValue }. */
export function assembleSigned(tbs: Buffer, algorithm: SignatureAlgorithm, signature: Buffer): Buffer {
  return sequence(tbs, algorithm.identifier, bitString(signature));
}
