/**
 * Turns the raw bytes from stdin into what goes to the spool: the passphrase
 * line dropped at once, the syntax checked, and the CSR's public key kept
 * for checking the certificate that comes back.
 */
import { dropPassphrase, parseRequest } from '@etoken-ca/contract/request';
import { csrSubjectPublicKeyInfo } from './csr-public-key.js';

export interface PreparedRequest {
  /** The request as the server will read it, without the passphrase line. */
  readonly spoolBytes: Buffer;
  /** The CSR's SubjectPublicKeyInfo in DER, decoded only once the request is published (certificate-check.ts). */
  readonly csrSpki: Buffer;
}

/** Zeroes `raw` (it holds the passphrase); throws an exit-65 error for a malformed request. */
export function prepareRequest(raw: Buffer): PreparedRequest {
  const spoolBytes = dropPassphrase(raw);
  const { csrDer } = parseRequest(spoolBytes);
  return { spoolBytes, csrSpki: csrSubjectPublicKeyInfo(csrDer) };
}
