/**
 * The subject's public key: re-exported canonically by Node (never the
 * request's bytes as given) and checked against the key policy.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { childrenOf, readElement } from './der-reader.js';
import { refuse } from './refusal.js';

export interface SubjectKey {
  readonly key: KeyObject;
  /** SubjectPublicKeyInfo DER as Node exports it. */
  readonly spki: Buffer;
  /** The subjectPublicKey BIT STRING's value (what the SKI hashes). */
  readonly subjectPublicKey: Buffer;
}

export interface KeyPolicy {
  readonly rsaMinBits: number;
  /** 'P-256', 'P-384'. */
  readonly ecCurves: readonly string[];
}

const CURVE_NAMES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const F4 = 65537n;

export function subjectKeyFromSpki(spkiDer: Buffer): SubjectKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch {
    return refuse('subject public key does not parse');
  }
  const spki = key.export({ type: 'spki', format: 'der' });
  const bits = childrenOf(spki, readElement(spki))[1];
  if (!bits || bits.tag !== 0x03) return refuse('subject public key has no BIT STRING');
  return { key, spki, subjectPublicKey: spki.subarray(bits.contentStart + 1, bits.end) };
}

/** RSA of at least rsaMinBits with an odd exponent of at least 65537, or EC on an allowed curve. */
export function checkKeyPolicy(key: KeyObject, policy: KeyPolicy): void {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    const exponent = details.publicExponent ?? 0n;
    if (bits < policy.rsaMinBits) refuse(`RSA key of ${bits} bits, at least ${policy.rsaMinBits} required`);
    if (exponent < F4 || exponent % 2n === 0n) refuse(`RSA public exponent ${exponent} not allowed`);
    return;
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVE_NAMES[details.namedCurve ?? ''] ?? details.namedCurve ?? 'unknown';
    if (!policy.ecCurves.includes(curve)) refuse(`EC curve ${curve} not allowed`);
    return;
  }
  refuse(`key type ${key.asymmetricKeyType ?? 'unknown'} not allowed`);
}
