/**
 * The CSR, reduced to what the certificate may take from it: its public key,
 * once its signature is checked. Subject, attributes and requested extensions
 * are ignored (MyProxy asks for a proxyCertInfo extension that must never be
 * copied).
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AsnParser, AsnSerializer } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { badRequest } from '@etoken-ca/contract/exit-codes';
import type { ParsedRequest } from '../ipc.js';
import { signatureAlgorithm } from './signature-algorithms.js';

export type CsrKey = Pick<ParsedRequest, 'spki' | 'keyType' | 'keyBits' | 'rsaExponent' | 'curve' | 'csrHash'>;

const CURVES: Readonly<Record<string, { name: NonNullable<ParsedRequest['curve']>; bits: number }>> = {
  prime256v1: { name: 'P-256', bits: 256 },
  secp384r1: { name: 'P-384', bits: 384 },
  secp521r1: { name: 'P-521', bits: 521 },
};

export function inspectCsr(der: Buffer): CsrKey {
  const csr = decodeStrictly(der);
  const info = csr.certificationRequestInfo;
  if (info.version !== 0) throw badRequest('CSR version is not 1');
  const key = publicKey(Buffer.from(AsnSerializer.serialize(info.subjectPKInfo)));
  const facts = keyFacts(key);
  const algorithm = signatureAlgorithm(csr.signatureAlgorithm);
  if (facts.keyType !== algorithm.keyType) throw badRequest('CSR signature algorithm does not match its key');
  if (!csr.certificationRequestInfoRaw) throw badRequest('CSR has no request info');
  const signed = Buffer.from(csr.certificationRequestInfoRaw);
  if (!verify(algorithm.hash, signed, key, Buffer.from(csr.signature))) throw badRequest('CSR signature does not verify');
  return { spki: canonicalSpki(key), csrHash: algorithm.hash, ...facts };
}

/**
 * Node re-exports an EC key in the point form it was given; a round trip
 * through JWK (x and y) gives the uncompressed form every relying party reads
 * (RFC 5480 makes only that one mandatory).
 */
function canonicalSpki(key: KeyObject): string {
  const plain = key.asymmetricKeyType === 'ec' ? createPublicKey({ key: key.export({ format: 'jwk' }), format: 'jwk' }) : key;
  return plain.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** Parses the DER and insists it re-encodes to the very same bytes: no BER, no trailing data. */
function decodeStrictly(der: Buffer): CertificationRequest {
  let csr: CertificationRequest;
  try {
    csr = AsnParser.parse(der, CertificationRequest);
  } catch {
    throw badRequest('CSR is not a PKCS#10 certification request');
  }
  let again: Buffer;
  try {
    again = Buffer.from(AsnSerializer.serialize(csr));
  } catch {
    throw badRequest('CSR is not a PKCS#10 certification request');
  }
  if (!again.equals(der)) throw badRequest('CSR is not in canonical DER (or has trailing bytes)');
  return csr;
}

function publicKey(spkiDer: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch {
    throw badRequest('CSR public key cannot be decoded');
  }
}

function keyFacts(key: KeyObject): Pick<CsrKey, 'keyType' | 'keyBits' | 'rsaExponent' | 'curve'> {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const exponent = details.publicExponent ?? 0n;
    // Carried as a JSON number: refuse what a double cannot hold exactly.
    if (exponent > BigInt(Number.MAX_SAFE_INTEGER)) throw badRequest('RSA public exponent too large');
    return { keyType: 'rsa', keyBits: details.modulusLength ?? 0, rsaExponent: Number(exponent) };
  }
  if (key.asymmetricKeyType !== 'ec') throw badRequest(`unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
  const curve = CURVES[details.namedCurve ?? ''];
  if (!curve) throw badRequest(`unsupported EC curve ${details.namedCurve ?? '(explicit parameters)'}`);
  return { keyType: 'ec', keyBits: curve.bits, curve: curve.name };
}
