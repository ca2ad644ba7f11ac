import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EtokenError, ExitCode } from '@etoken-ca/contract/exit-codes';

/** The CA certificate (CA_CERT) the answers are checked against; unreadable is a configuration error. */
export function loadCaCertificate(file: string): X509Certificate {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    throw new EtokenError(ExitCode.config, `CA_CERT ${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return new X509Certificate(pem);
  } catch {
    throw new EtokenError(ExitCode.config, `CA_CERT ${file}: not a PEM certificate`);
  }
}
