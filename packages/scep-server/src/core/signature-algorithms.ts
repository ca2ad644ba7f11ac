import type { DigestName } from './digest-algorithms.js';
import { RSA_ENCRYPTION } from './scep-oids.js';

export type SignatureKeyType = 'rsa' | 'ec' | 'ed25519';

export interface SignatureAlgorithm {
  readonly keyType: SignatureKeyType;
  /** Null where the scheme hashes by itself (Ed25519). */
  readonly digest: DigestName | null;
}

/** RSASSA-PKCS1-v1_5, ECDSA and Ed25519: what CSRs are signed with. RSA-PSS is not accepted. */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, SignatureAlgorithm>> = {
  '1.2.840.113549.1.1.5': { keyType: 'rsa', digest: 'sha1' },
  '1.2.840.113549.1.1.11': { keyType: 'rsa', digest: 'sha256' },
  '1.2.840.113549.1.1.12': { keyType: 'rsa', digest: 'sha384' },
  '1.2.840.113549.1.1.13': { keyType: 'rsa', digest: 'sha512' },
  '1.2.840.10045.4.3.2': { keyType: 'ec', digest: 'sha256' },
  '1.2.840.10045.4.3.3': { keyType: 'ec', digest: 'sha384' },
  '1.2.840.10045.4.3.4': { keyType: 'ec', digest: 'sha512' },
  '1.3.101.112': { keyType: 'ed25519', digest: null },
};

export const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

export function signatureAlgorithmByOid(oid: string): SignatureAlgorithm | undefined {
  return SIGNATURE_ALGORITHMS[oid];
}

/**
 * A CMS SignerInfo names its RSA signature either as plain rsaEncryption
 * (the digest algorithm decides the hash) or as shaNWithRSAEncryption, which
 * must then agree with the digest algorithm.
 */
export function isRsaSignatureWith(oid: string, digest: DigestName): boolean {
  if (oid === RSA_ENCRYPTION) return true;
  const algorithm = SIGNATURE_ALGORITHMS[oid];
  return algorithm?.keyType === 'rsa' && algorithm.digest === digest;
}
