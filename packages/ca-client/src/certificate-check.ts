/**
 * MyProxy checks nothing about the certificate a callout prints, so the
 * client does: it must carry the CSR's public key (the very bytes) and the
 * subject the username gives, name the CA as its issuer, and be signed by
 * the CA's key. The only module that loads node:crypto: main.ts imports it
 * once the request is published, since loading and decoding take
 * milliseconds that the server can already use.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import type { CaCertificateFile } from '@etoken-ca/contract/io/ca-certificate-file';
import { readCertificateFields } from '@etoken-ca/x509/certificate-fields';
import { derOf, pemBytes } from '@etoken-ca/x509/pem';
import { caKeyTypeOf, signatureAlgorithm, type SignatureAlgorithm } from '@etoken-ca/x509/signature-algorithm';
import type { PreparedRequest } from './prepare-request.js';

/** The certificate in `pem`, as PEM to print, if it is the CA's certificate for this request; else null. */
export type CertificateCheck = (pem: string) => string | null;

/** The CA's key and algorithm from CA_CERT (exit 78 if the key is one the CA cannot have). */
export function certificateCheck(ca: CaCertificateFile, request: Pick<PreparedRequest, 'csrSpki' | 'subject'>): CertificateCheck {
  let key: KeyObject;
  let algorithm: SignatureAlgorithm;
  try {
    key = createPublicKey({ key: ca.fields.spki, format: 'der', type: 'spki' });
    algorithm = signatureAlgorithm(caKeyTypeOf(key));
  } catch (e) {
    throw new EtokenError(ExitCode.config, `CA_CERT ${ca.file}: not a CA key: ${(e as Error).message}`);
  }
  return (pem) => {
    try {
      const der = derOf(Buffer.from(pem, 'latin1'), 'CERTIFICATE');
      const cert = readCertificateFields(der);
      const matches =
        cert.spki.equals(request.csrSpki) &&
        cert.subject.equals(request.subject) &&
        cert.issuer.equals(ca.fields.subject) &&
        cert.signatureAlgorithm.equals(algorithm.identifier) &&
        verify(algorithm.hash, cert.tbs, key, cert.signature);
      return matches ? pemBytes(der, 'CERTIFICATE').toString('latin1') : null;
    } catch {
      // Not DER, not a certificate, or a signature node:crypto cannot read: not our certificate either.
      return null;
    }
  };
}
