/**
 * MyProxy checks nothing about the certificate a callout prints, so the
 * client does: it must carry the CSR's public key and be signed by the CA.
 * The only module that loads node:crypto: main.ts imports it once the
 * request is published, since loading and decoding take milliseconds that
 * the server can already use.
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { badRequest, EtokenError, ExitCode } from '@etoken-ca/contract/exit-codes';
import type { CaCertificateFile } from './ca-certificate.js';

/** The server's certificate in PEM if it is the CA's certificate for the CSR's key, else null. */
export type CertificateCheck = (pem: string) => X509Certificate | null;

/** Decodes the CA certificate (exit 78 if it is none) and the CSR's key (exit 65 if node:crypto cannot read it). */
export function certificateCheck(caCert: CaCertificateFile, csrSpki: Buffer): CertificateCheck {
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(caCert.pem);
  } catch {
    throw new EtokenError(ExitCode.config, `CA_CERT ${caCert.file}: not a PEM certificate`);
  }
  let csrPublicKey: KeyObject;
  try {
    csrPublicKey = createPublicKey({ key: csrSpki, format: 'der', type: 'spki' });
  } catch {
    throw badRequest('CSR public key is not readable');
  }
  return (pem) => matchingCertificate(pem, csrPublicKey, ca);
}

const spkiDer = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

/** The certificate in `pem` if it is the CA's certificate for `csrPublicKey`, else null. */
export function matchingCertificate(pem: string, csrPublicKey: KeyObject, caCert: X509Certificate): X509Certificate | null {
  try {
    const cert = new X509Certificate(pem);
    // Both keys re-exported by the same code, so equal keys give equal bytes.
    const sameKey = spkiDer(cert.publicKey).equals(spkiDer(csrPublicKey));
    // checkIssued compares names and key identifiers only (cert.checkIssued(issuer), not the other way round); verify checks the signature.
    return sameKey && cert.checkIssued(caCert) && cert.verify(caCert.publicKey) ? cert : null;
  } catch {
    // Unparsable PEM or a key type node:crypto cannot handle: not our certificate either.
    return null;
  }
}
