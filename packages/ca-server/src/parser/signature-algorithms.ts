/**
 * The CSR signature algorithms we verify: RSA PKCS#1 v1.5 and ECDSA, with the
 * hash Node's crypto.verify needs. RSA-PSS is not accepted (MyProxy and
 * common clients sign CSRs with PKCS#1 v1.5).
 */
import { badRequest } from '@etoken-ca/contract/core/exit-codes';
import { printable } from '@etoken-ca/contract/core/dn';

export interface SignatureAlgorithm {
  /** The key type the algorithm needs, as KeyObject.asymmetricKeyType names it. */
  readonly keyType: 'rsa' | 'ec';
  readonly hash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
}

const ALGORITHMS: Readonly<Record<string, SignatureAlgorithm>> = {
  '1.2.840.113549.1.1.5': { keyType: 'rsa', hash: 'sha1' },
  '1.2.840.113549.1.1.11': { keyType: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { keyType: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { keyType: 'rsa', hash: 'sha512' },
  '1.2.840.10045.4.3.2': { keyType: 'ec', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { keyType: 'ec', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { keyType: 'ec', hash: 'sha512' },
};

export function signatureAlgorithm(oid: string, parameters: 'absent' | 'null' | 'other'): SignatureAlgorithm {
  const algorithm = ALGORITHMS[oid];
  if (!algorithm) throw badRequest(`unsupported CSR signature algorithm ${printable(oid)}`);
  // RSA: NULL or absent, as RFC 4055 allows; ECDSA: absent (RFC 5758).
  const allowed = parameters === 'absent' || (algorithm.keyType === 'rsa' && parameters === 'null');
  if (!allowed) throw badRequest('unexpected parameters in CSR signature algorithm');
  return algorithm;
}
