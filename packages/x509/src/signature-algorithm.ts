/** The CA's signature algorithm, chosen by its key type, and the ECDSA signature encoding X.509 wants. */
import type { KeyObject } from 'node:crypto';
import { nullValue, oid, sequence, unsignedInteger } from './der.js';
import { OID } from './oids.js';

export type CaKeyType = 'rsa' | 'ec-p256' | 'ec-p384';

export interface SignatureAlgorithm {
  readonly keyType: CaKeyType;
  /** AlgorithmIdentifier DER, as it stands in the TBS and around the signature. */
  readonly identifier: Buffer;
  readonly hash: 'sha256' | 'sha384';
}

const ALGORITHMS: Readonly<Record<CaKeyType, SignatureAlgorithm>> = {
  // RFC 4055: the RSA identifiers carry an explicit NULL; RFC 5758: the ECDSA ones carry none.
  rsa: { keyType: 'rsa', identifier: sequence(oid(OID.sha256WithRSAEncryption), nullValue()), hash: 'sha256' },
  'ec-p256': { keyType: 'ec-p256', identifier: sequence(oid(OID.ecdsaWithSHA256)), hash: 'sha256' },
  'ec-p384': { keyType: 'ec-p384', identifier: sequence(oid(OID.ecdsaWithSHA384)), hash: 'sha384' },
};

export function signatureAlgorithm(keyType: CaKeyType): SignatureAlgorithm {
  return ALGORITHMS[keyType];
}

/** The CA key type of a public key; throws for anything the CA cannot sign with. */
export function caKeyTypeOf(key: KeyObject): CaKeyType {
  if (key.asymmetricKeyType === 'rsa') return 'rsa';
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  if (curve === 'prime256v1') return 'ec-p256';
  if (curve === 'secp384r1') return 'ec-p384';
  throw new Error(`unsupported CA key type ${key.asymmetricKeyType ?? '?'}${curve ? ` (${curve})` : ''}`);
}

/** PKCS#11 CKM_ECDSA returns r||s (IEEE P1363); X.509 wants ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }. */
export function ecdsaRawToDer(raw: Buffer): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new Error(`ECDSA signature of odd length ${raw.length}`);
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}
