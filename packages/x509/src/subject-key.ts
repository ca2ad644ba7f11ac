/**
 * The subject's public key as the parser and the signer take it, read
 * strictly and without OpenSSL: the bytes must be exactly the canonical
 * encoding of the numbers they hold, and an EC point must lie on its curve.
 * An OpenSSL decode would tell nothing more, and would sit on the one serial
 * path every issuance waits on (README, Performance).
 */
import type { JsonWebKey } from 'node:crypto';
import { CURVES, EC_PUBLIC_KEY, ecSpki, RSA_ENCRYPTION, rsaSpki, type CurveName } from './canonical-spki.js';
import { childrenOf, contentOf, decodeOid, readElement, type DerElement } from './der-reader.js';
import { CertificateRefused, refuse } from './refusal.js';

export type SubjectKey =
  | {
      readonly type: 'rsa';
      readonly spki: Buffer;
      readonly subjectPublicKey: Buffer;
      readonly bits: number;
      readonly exponent: bigint;
      /** The INTEGER contents of n and e, as encoded (n with its sign octet). */
      readonly numbers: { readonly n: Buffer; readonly e: Buffer };
    }
  | { readonly type: 'ec'; readonly spki: Buffer; readonly subjectPublicKey: Buffer; readonly curve: CurveName };

export interface KeyPolicy {
  readonly rsaMinBits: number;
  /** 'P-256', 'P-384'. */
  readonly ecCurves: readonly string[];
}

const TAG = { integer: 0x02, bitString: 0x03, oid: 0x06, sequence: 0x30 } as const;
/** Names for the refusal of key types and curves people do send. */
const KEY_TYPE_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.10': 'rsa-pss',
  '1.2.840.10040.4.1': 'dsa',
  '1.3.101.110': 'x25519',
  '1.3.101.111': 'x448',
  '1.3.101.112': 'ed25519',
  '1.3.101.113': 'ed448',
};
const CURVE_NAMES: Readonly<Record<string, string>> = { '1.3.132.0.10': 'secp256k1', '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1' };
const F4 = 65537n;

/** `spki` in its canonical DER form, or CertificateRefused. */
export function subjectKeyFromSpki(spki: Buffer): SubjectKey {
  try {
    return decode(spki);
  } catch (e) {
    if (e instanceof CertificateRefused) throw e;
    return refuse('subject public key does not parse');
  }
}

function decode(spki: Buffer): SubjectKey {
  const root = readElement(spki);
  if (root.tag !== TAG.sequence || root.end !== spki.length) refuse('subject public key does not parse');
  const [algorithm, bits, ...extra] = childrenOf(spki, root);
  if (algorithm?.tag !== TAG.sequence || bits?.tag !== TAG.bitString || extra.length) refuse('subject public key does not parse');
  const [algorithmOid, parameters] = childrenOf(spki, algorithm!);
  if (algorithmOid?.tag !== TAG.oid) refuse('subject public key has no algorithm');
  const content = contentOf(spki, bits!);
  if (content[0] !== 0) refuse('subject public key has unused bits');
  const subjectPublicKey = content.subarray(1);
  const type = decodeOid(contentOf(spki, algorithmOid!));
  const key = type === RSA_ENCRYPTION ? rsaKey(subjectPublicKey) : type === EC_PUBLIC_KEY ? ecKey(spki, parameters, subjectPublicKey) : refuse(`key type ${KEY_TYPE_NAMES[type] ?? type} not allowed`);
  // Re-encoding the numbers must give the bytes back: no BER, no leading zeros, no negative modulus, no stray parameters.
  if (!key.spki.equals(spki)) refuse('subject public key is not in canonical form');
  return key;
}

function rsaKey(subjectPublicKey: Buffer): SubjectKey {
  const root = readElement(subjectPublicKey);
  if (root.tag !== TAG.sequence || root.end !== subjectPublicKey.length) refuse('RSA public key does not parse');
  const [modulus, exponent, ...extra] = childrenOf(subjectPublicKey, root);
  if (modulus?.tag !== TAG.integer || exponent?.tag !== TAG.integer || extra.length) refuse('RSA public key does not parse');
  const n = contentOf(subjectPublicKey, modulus!);
  const e = contentOf(subjectPublicKey, exponent!);
  return { type: 'rsa', spki: rsaSpki(n, e), subjectPublicKey, bits: bitLength(n), exponent: toBigInt(e), numbers: { n, e } };
}

function ecKey(spki: Buffer, parameters: DerElement | undefined, point: Buffer): SubjectKey {
  if (parameters?.tag !== TAG.oid) refuse('EC key without a named curve');
  const curveOid = decodeOid(contentOf(spki, parameters!));
  const curve = (Object.keys(CURVES) as CurveName[]).find((name) => CURVES[name].oid === curveOid) ?? refuse(`EC curve ${CURVE_NAMES[curveOid] ?? curveOid} not allowed`);
  const { bytes, p, b } = CURVES[curve];
  if (point.length !== 1 + 2 * bytes || point[0] !== 4) refuse('EC public key is not an uncompressed point');
  const x = toBigInt(point.subarray(1, 1 + bytes));
  const y = toBigInt(point.subarray(1 + bytes));
  if (x >= p || y >= p || (y * y - (x * x * x - 3n * x + b)) % p !== 0n) refuse('EC public key is not a point on its curve');
  return { type: 'ec', spki: ecSpki(curve, point), subjectPublicKey: point, curve };
}

/** A JWK of the key, the cheapest form to hand it to OpenSSL in. */
export function jwkOf(key: SubjectKey): JsonWebKey {
  if (key.type === 'rsa') return { kty: 'RSA', n: base64urlUInt(key.numbers.n), e: base64urlUInt(key.numbers.e) };
  const { bytes } = CURVES[key.curve];
  const point = key.subjectPublicKey;
  return { kty: 'EC', crv: key.curve, x: point.subarray(1, 1 + bytes).toString('base64url'), y: point.subarray(1 + bytes).toString('base64url') };
}

/** RFC 7518's base64urlUInt: the magnitude without leading zero octets. */
function base64urlUInt(integer: Buffer): string {
  let start = 0;
  while (start < integer.length - 1 && integer[start] === 0) start++;
  return integer.subarray(start).toString('base64url');
}

const toBigInt = (bytes: Buffer): bigint => (bytes.length ? BigInt(`0x${bytes.toString('hex')}`) : 0n);

function bitLength(magnitude: Buffer): number {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  return start === magnitude.length ? 0 : (magnitude.length - start - 1) * 8 + (32 - Math.clz32(magnitude[start]!));
}

/** RSA of at least rsaMinBits with an odd exponent of at least 65537, or EC on an allowed curve. */
export function checkKeyPolicy(key: SubjectKey, policy: KeyPolicy): void {
  if (key.type === 'rsa') {
    if (key.bits < policy.rsaMinBits) refuse(`RSA key of ${key.bits} bits, at least ${policy.rsaMinBits} required`);
    if (key.exponent < F4 || key.exponent % 2n === 0n) refuse(`RSA public exponent ${key.exponent} not allowed`);
    return;
  }
  if (!policy.ecCurves.includes(key.curve)) refuse(`EC curve ${key.curve} not allowed`);
}
