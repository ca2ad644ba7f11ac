/**
 * The one way every program reads CA_CERT: the file's certificate in DER,
 * its structure checked, or exit 78 naming the key and the file. Callers
 * that need the key (the signer, the supervisor) go on with x509's
 * parseCaCertificate; the client reads the fields it compares.
 */
import { readFileSync } from 'node:fs';
import { readCertificateFields, type CertificateFields } from '@etoken-ca/x509/certificate-fields';
import { derOf } from '@etoken-ca/x509/pem';
import { EtokenError, ExitCode } from '../core/exit-codes.js';

export interface CaCertificateFile {
  readonly file: string;
  readonly der: Buffer;
  readonly fields: CertificateFields;
}

export function readCaCertificate(file: string): CaCertificateFile {
  try {
    const der = derOf(readFileSync(file), 'CERTIFICATE');
    return { file, der, fields: readCertificateFields(der) };
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new EtokenError(ExitCode.config, `CA_CERT ${file}: cannot use the CA certificate: ${why}`);
  }
}
