/** The CA certificate, read once at start-up: what the template copies from it and what the checks compare with. */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { readCertificateFields, subjectKeyIdOf } from './certificate-fields.js';
import { keyIdentifier } from './extensions.js';
import { caKeyTypeOf, type CaKeyType } from './signature-algorithm.js';

export interface CaCertificate {
  readonly der: Buffer;
  readonly x509: X509Certificate;
  /** The subject Name exactly as encoded in the CA certificate: every issuer field is a copy of it. */
  readonly subjectDer: Buffer;
  /** The CA's SKI, or SHA-1 of its subjectPublicKey when it has none: every AKI carries it. */
  readonly keyId: Buffer;
  readonly publicKey: KeyObject;
  readonly keyType: CaKeyType;
  /** Milliseconds since the epoch. */
  readonly notAfter: number;
}

/** Accepts PEM or DER. Throws a one-line error on anything else. */
export function parseCaCertificate(input: Buffer): CaCertificate {
  const x509 = new X509Certificate(input);
  const der = x509.raw;
  const fields = readCertificateFields(der);
  return {
    der,
    x509,
    subjectDer: Buffer.from(fields.subject),
    keyId: Buffer.from(subjectKeyIdOf(fields) ?? keyIdentifier(fields.subjectPublicKey)),
    publicKey: x509.publicKey,
    keyType: caKeyTypeOf(x509.publicKey),
    notAfter: fields.notAfter,
  };
}
