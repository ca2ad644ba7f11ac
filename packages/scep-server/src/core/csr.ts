/**
 * A PKCS#10 CSR reduced to what the CA needs to decide on it: subject,
 * public key, challenge password, requested names. Its own signature is
 * checked here (proof of possession); everything else is the profile's call.
 */
import { CertificationRequest } from '@peculiar/asn1-csr';
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { AlgorithmPolicy } from './algorithm-policy.js';
import { readCsrAttributes, type CsrAttributes } from './csr-attributes.js';
import { bufferOf, derOf, parseExactly } from './der.js';
import { refusingMalformed, ScepError } from './fail-info.js';
import { MAX_CSR_BYTES } from './limits.js';
import { signatureAlgorithmByOid } from './signature-algorithms.js';

export interface SubjectAttribute {
  /** The attribute type's OID. */
  readonly type: string;
  readonly value: string;
}

export interface CsrFacts extends CsrAttributes {
  readonly der: Buffer;
  /** The subject Name, DER. */
  readonly subject: Buffer;
  /** The same subject, one array per RDN. */
  readonly subjectRdns: readonly (readonly SubjectAttribute[])[];
  /** The SubjectPublicKeyInfo, DER. */
  readonly spki: Buffer;
}

export function inspectCsr(der: Buffer, policy: AlgorithmPolicy): CsrFacts {
  if (der.length > MAX_CSR_BYTES) throw new ScepError('badRequest', `the CSR is larger than ${MAX_CSR_BYTES} bytes`);
  return refusingMalformed('the CSR', () => readCsr(der, policy));
}

function readCsr(der: Buffer, policy: AlgorithmPolicy): CsrFacts {
  const csr = parseExactly(der, CertificationRequest, 'the CSR');
  const info = csr.certificationRequestInfo;
  const signed = csr.certificationRequestInfoRaw;
  if (info.version !== 0 || signed === undefined) throw new ScepError('badRequest', 'the CSR is not a version 1 PKCS#10 request');

  const spki = derOf(info.subjectPKInfo);
  checkSignature(csr, bufferOf(signed), publicKeyOf(spki), policy);
  return {
    der,
    subject: derOf(info.subject),
    subjectRdns: Array.from(info.subject, (rdn) => Array.from(rdn, ({ type, value }) => ({ type, value: value.toString() }))),
    spki,
    ...readCsrAttributes(info.attributes),
  };
}

function publicKeyOf(spki: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    throw new ScepError('badRequest', 'the CSR public key does not parse');
  }
}

function checkSignature(csr: CertificationRequest, signed: Buffer, key: KeyObject, policy: AlgorithmPolicy): void {
  const oid = csr.signatureAlgorithm.algorithm;
  const algorithm = signatureAlgorithmByOid(oid);
  if (algorithm === undefined || (algorithm.digest !== null && !policy.digests.has(algorithm.digest))) {
    throw new ScepError('badAlg', `CSR signature algorithm ${oid} is not accepted`);
  }
  if (algorithm.keyType !== key.asymmetricKeyType) throw new ScepError('badRequest', 'the CSR signature algorithm does not match its key');
  if (!verify(algorithm.digest, signed, key, bufferOf(csr.signature))) throw new ScepError('badMessageCheck', 'the CSR signature does not verify');
}
