/**
 * A public key's SubjectPublicKeyInfo in its one DER form: RSA as (n, e)
 * under rsaEncryption with NULL parameters, EC as an uncompressed point under
 * its named curve (the only form RFC 5480 makes every relying party read).
 * Written by hand: the reader of request keys (subject-key.ts) re-encodes the
 * numbers it read and insists on the same bytes, without a round trip through
 * OpenSSL on the path of every request (README, Performance).
 */
import { bitString, nullValue, oid, sequence, unsignedInteger } from './der.js';

export const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
export const EC_PUBLIC_KEY = '1.2.840.10045.2.1';

export type CurveName = 'P-256' | 'P-384' | 'P-521';

/** The named curves a certificate may carry: OID, field size in bytes, and y² = x³ - 3x + b over GF(p). */
export const CURVES: Readonly<Record<CurveName, { readonly oid: string; readonly bytes: number; readonly p: bigint; readonly b: bigint }>> = {
  'P-256': {
    oid: '1.2.840.10045.3.1.7',
    bytes: 32,
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  'P-384': {
    oid: '1.3.132.0.34',
    bytes: 48,
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
  'P-521': {
    oid: '1.3.132.0.35',
    bytes: 66,
    p: 2n ** 521n - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  },
};

export const rsaSpki = (modulus: Buffer, exponent: Buffer): Buffer =>
  sequence(sequence(oid(RSA_ENCRYPTION), nullValue()), bitString(sequence(unsignedInteger(modulus), unsignedInteger(exponent))));

/** `point`: 04 || x || y, each coordinate its curve's full size. */
export const ecSpki = (curve: CurveName, point: Buffer): Buffer => sequence(sequence(oid(EC_PUBLIC_KEY), oid(CURVES[curve].oid)), bitString(point));
