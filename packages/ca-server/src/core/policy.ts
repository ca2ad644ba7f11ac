/**
 * Issuance policy on the parsed fields: key type and size, RSA exponent, EC
 * curve, and the strength of the hash the CSR was signed with. Pure.
 */
import type { Config } from '@etoken-ca/contract/config';
import type { ParsedRequest } from '../ipc.js';

const HASH_STRENGTH: Readonly<Record<string, number>> = { sha1: 1, sha256: 2, sha384: 3, sha512: 4 };
// Smaller exponents (e = 3) invite low-exponent attacks; FIPS 186-4 asks for e > 2^16.
const MIN_RSA_EXPONENT = 65537;

/** The reason the request is refused, or null when policy allows it. */
export function checkPolicy(fields: ParsedRequest, config: Config): string | null {
  const keyReason = fields.keyType === 'rsa' ? rsaReason(fields, config) : ecReason(fields, config);
  if (keyReason) return keyReason;
  const strength = HASH_STRENGTH[fields.csrHash];
  if (strength === undefined) return `CSR hash ${fields.csrHash} not supported`;
  if (strength < (HASH_STRENGTH[config.minCsrHash] ?? Infinity)) {
    return `CSR signed with ${fields.csrHash}, weaker than ${config.minCsrHash}`;
  }
  return null;
}

function rsaReason(fields: ParsedRequest, config: Config): string | null {
  if (fields.keyBits < config.rsaMinBits) return `RSA key of ${fields.keyBits} bits, at least ${config.rsaMinBits} required`;
  const e = fields.rsaExponent;
  if (e === undefined || !Number.isSafeInteger(e) || e % 2 === 0 || e < MIN_RSA_EXPONENT) {
    return `RSA public exponent ${e ?? 'missing'} not allowed (odd and at least ${MIN_RSA_EXPONENT})`;
  }
  return null;
}

function ecReason(fields: ParsedRequest, config: Config): string | null {
  if (fields.curve === undefined || !config.ecCurves.includes(fields.curve)) {
    return `EC curve ${fields.curve ?? 'missing'} not allowed (${config.ecCurves.join(', ') || 'no EC keys'})`;
  }
  return null;
}
