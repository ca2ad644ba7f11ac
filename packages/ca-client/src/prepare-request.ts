/**
 * Turns the raw bytes from stdin into what goes to the spool: the passphrase
 * line dropped at once, the syntax checked, and the CSR's public key kept
 * for checking the certificate that comes back.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { badRequest } from '@etoken-ca/contract/exit-codes';
import { dropPassphrase, parseRequest } from '@etoken-ca/contract/request';
import { csrSubjectPublicKeyInfo } from './csr-public-key.js';

export interface PreparedRequest {
  /** The request as the server will read it, without the passphrase line. */
  readonly spoolBytes: Buffer;
  readonly csrPublicKey: KeyObject;
}

/** Zeroes `raw` (it holds the passphrase); throws an exit-65 error for a malformed request. */
export function prepareRequest(raw: Buffer): PreparedRequest {
  const spoolBytes = dropPassphrase(raw);
  const { csrDer } = parseRequest(spoolBytes);
  const spki = csrSubjectPublicKeyInfo(csrDer);
  let csrPublicKey: KeyObject;
  try {
    csrPublicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    throw badRequest('CSR public key is not readable');
  }
  return { spoolBytes, csrPublicKey };
}
