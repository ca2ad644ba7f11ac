/**
 * The CSR, reduced to what the certificate may take from it: its public key,
 * once its signature is checked and the key and hash meet the policy.
 * Subject, attributes and requested extensions are ignored (MyProxy asks for
 * a proxyCertInfo extension that must never be copied).
 *
 * Only a key in its canonical form is taken (RSA (n, e) under rsaEncryption,
 * EC as an uncompressed point under a named curve, RFC 5480): the signer and
 * the client compare exactly these bytes, so a key the CA would have to
 * re-encode (a compressed or hybrid point, explicit curve parameters) is
 * refused with a reason rather than certified in another form than asked.
 */
import { createPublicKey, verify } from 'node:crypto';
import type { Config } from '@etoken-ca/contract/core/config';
import { badRequest } from '@etoken-ca/contract/core/exit-codes';
import { CertificateRefused } from '@etoken-ca/x509/refusal';
import { checkKeyPolicy, jwkOf, subjectKeyFromSpki, type SubjectKey } from '@etoken-ca/x509/subject-key';
import { isCanonicalDer } from './canonical-der.js';
import { readCsrStructure, type CsrStructure } from './csr-structure.js';
import { signatureAlgorithm } from './signature-algorithms.js';

const VERSION_1 = Buffer.of(0);
const HASH_STRENGTH: Readonly<Record<string, number>> = { sha1: 1, sha256: 2, sha384: 3, sha512: 4 };

/** The CSR's SubjectPublicKeyInfo, when everything about the CSR is acceptable; else EtokenError (65) with the reason. */
export function csrPublicKey(der: Buffer, config: Config): Buffer {
  const csr = decodeStrictly(der);
  if (!csr.version.equals(VERSION_1)) throw badRequest('CSR version is not 1');
  const subjectKey = requestKey(csr.spki, config);
  const algorithm = signatureAlgorithm(csr.algorithm, csr.parameters);
  if (subjectKey.type !== algorithm.keyType) throw badRequest('CSR signature algorithm does not match its key');
  if (HASH_STRENGTH[algorithm.hash]! < (HASH_STRENGTH[config.minCsrHash] ?? Infinity)) {
    throw badRequest(`CSR signed with ${algorithm.hash}, weaker than ${config.minCsrHash}`);
  }
  // A JWK is the cheapest form to hand OpenSSL the key in: its DER decoder is far slower (README, Performance).
  const key = createPublicKey({ key: jwkOf(subjectKey), format: 'jwk' });
  if (!verify(algorithm.hash, csr.info, key, csr.signature)) throw badRequest('CSR signature does not verify');
  return subjectKey.spki;
}

/** The key read strictly by hand and held to the one key policy the signer enforces too. */
function requestKey(spki: Buffer, config: Config): SubjectKey {
  try {
    const key = subjectKeyFromSpki(spki);
    checkKeyPolicy(key, config);
    return key;
  } catch (e) {
    if (e instanceof CertificateRefused) throw badRequest(`CSR ${e.message}`);
    throw e;
  }
}

/** Reads the request's shape, then insists the whole input is canonical DER: no BER, no trailing data. */
function decodeStrictly(der: Buffer): CsrStructure {
  let csr: CsrStructure;
  try {
    csr = readCsrStructure(der);
  } catch {
    throw badRequest('CSR is not a PKCS#10 certification request');
  }
  if (csr.end !== der.length || !isCanonicalDer(der)) throw badRequest('CSR is not in canonical DER (or has trailing bytes)');
  return csr;
}
