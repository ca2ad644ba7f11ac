/** Wraps a signed TBS into a Certificate and checks the result independently before anyone sees it. */
import { X509Certificate } from 'node:crypto';
import type { CaCertificate } from './ca-certificate.js';
import { bitString, sequence } from './der.js';
import { refuse } from './refusal.js';
import type { SignatureAlgorithm } from './signature-algorithm.js';

export function assembleCertificate(tbs: Buffer, algorithm: SignatureAlgorithm, signature: Buffer): Buffer {
  return sequence(tbs, algorithm.identifier, bitString(signature));
}

/** Node's own X.509 code must parse it, verify its signature with the CA key, see the CA as issuer, and read back the serial. */
export function verifyIssued(der: Buffer, ca: CaCertificate, serial: string): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return refuse('signed certificate does not parse');
  }
  if (!cert.verify(ca.publicKey)) refuse('signed certificate does not verify with the CA public key');
  if (!cert.checkIssued(ca.x509)) refuse('signed certificate is not issued by the CA certificate');
  if (cert.serialNumber.toUpperCase().replace(/^(00)+(?=.)/, '') !== serial) refuse('signed certificate has another serial');
  return cert;
}
