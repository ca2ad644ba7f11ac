/**
 * Turns the raw bytes from stdin into what goes to the spool: the passphrase
 * line dropped at once, the syntax checked, and what the certificate that
 * comes back must carry: the CSR's public key and the subject the username
 * and DN_FORMAT give (the same contract rules the server applies).
 */
import type { Config } from '@etoken-ca/contract/core/config';
import { badRequest } from '@etoken-ca/contract/core/exit-codes';
import { dropPassphrase, parseRequest } from '@etoken-ca/contract/core/request';
import { requestedName } from '@etoken-ca/contract/core/request-name';
import { csrSubjectPublicKeyInfo } from '@etoken-ca/x509/csr-key';
import { encodeName } from '@etoken-ca/x509/name';

export interface PreparedRequest {
  /** The request as the server will read it, without the passphrase line. */
  readonly spoolBytes: Buffer;
  /** The CSR's SubjectPublicKeyInfo in DER: the certificate must carry exactly these bytes. */
  readonly csrSpki: Buffer;
  /** The subject Name the certificate must carry, DER. */
  readonly subject: Buffer;
}

/** Zeroes `raw` (it holds the passphrase); throws an exit-65 error for a malformed request. */
export function prepareRequest(raw: Buffer, config: Pick<Config, 'dnFormat' | 'namespace'>): PreparedRequest {
  const spoolBytes = dropPassphrase(raw);
  const { csrDer, username } = parseRequest(spoolBytes);
  const { subject } = requestedName(username, config);
  let spki: Buffer;
  let name: Buffer;
  try {
    spki = csrSubjectPublicKeyInfo(csrDer);
    name = encodeName(subject);
  } catch (e) {
    throw badRequest((e as Error).message);
  }
  return { spoolBytes, csrSpki: spki, subject: name };
}
