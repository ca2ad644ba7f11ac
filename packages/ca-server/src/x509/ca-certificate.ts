/** The CA certificate, read once at start-up: what the template copies from it and what the checks compare with. */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, SubjectKeyIdentifier, id_ce_subjectKeyIdentifier } from '@peculiar/asn1-x509';
import { bytesOf, childrenOf, readElement } from './der-reader.js';
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
  const parsed = AsnConvert.parse(der, Certificate);
  const ski = parsed.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
  const keyId = ski
    ? Buffer.from(AsnConvert.parse(ski.extnValue, SubjectKeyIdentifier).buffer)
    : keyIdentifier(Buffer.from(parsed.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey));
  return {
    der,
    x509,
    subjectDer: Buffer.from(subjectBytes(der)),
    keyId,
    publicKey: x509.publicKey,
    keyType: caKeyTypeOf(x509.publicKey),
    notAfter: parsed.tbsCertificate.validity.notAfter.getTime().getTime(),
  };
}

/** The subject Name's bytes inside a Certificate (the sixth TBS field, counting the optional [0] version). */
function subjectBytes(certificate: Buffer): Buffer {
  const tbs = childrenOf(certificate, readElement(certificate))[0];
  const fields = tbs ? childrenOf(certificate, tbs) : [];
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (!subject) throw new Error('CA certificate has no subject');
  return bytesOf(certificate, subject);
}
