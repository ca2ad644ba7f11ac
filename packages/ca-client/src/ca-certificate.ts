import { readFileSync } from 'node:fs';
import { EtokenError, ExitCode } from '@etoken-ca/contract/exit-codes';

/** The CA certificate (CA_CERT) the answers are checked against, as read from its file (certificate-check.ts parses it). */
export interface CaCertificateFile {
  readonly file: string;
  readonly pem: Buffer;
}

/** Unreadable is a configuration error, found before anything is spooled. */
export function readCaCertificate(file: string): CaCertificateFile {
  try {
    return { file, pem: readFileSync(file) };
  } catch (e) {
    throw new EtokenError(ExitCode.config, `CA_CERT ${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
