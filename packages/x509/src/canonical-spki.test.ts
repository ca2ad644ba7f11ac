import { createPublicKey, ECDH, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalSpki } from './canonical-spki.js';

const nodeDer = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

describe('canonicalSpki', () => {
  it('matches OpenSSL byte for byte for RSA keys of any size and exponent', () => {
    for (const [modulusLength, publicExponent] of [[1024, 65537], [2048, 3], [2049, 65537], [3072, 0x10001 + 2], [4096, 65537]] as const) {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength, publicExponent });
      expect(canonicalSpki(publicKey).equals(nodeDer(publicKey)), `${modulusLength}/${publicExponent}`).toBe(true);
    }
  });

  it('matches OpenSSL byte for byte for uncompressed keys on every named curve, many times over', () => {
    for (const namedCurve of ['prime256v1', 'secp384r1', 'secp521r1']) {
      // Leading zero bytes in a coordinate are common enough to meet in a few dozen keys.
      for (let i = 0; i < 40; i++) {
        const { publicKey } = generateKeyPairSync('ec', { namedCurve });
        expect(canonicalSpki(publicKey).equals(nodeDer(publicKey))).toBe(true);
      }
    }
  });

  it('gives a compressed point back uncompressed', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const point = ECDH.convertKey(nodeDer(publicKey).subarray(-65), 'prime256v1', undefined, undefined, 'compressed') as Buffer;
    const compressed = createPublicKey({ key: Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), point]), format: 'der', type: 'spki' });
    expect(canonicalSpki(compressed).equals(nodeDer(publicKey))).toBe(true);
  });

  it('refuses key types and curves it has no form for', () => {
    expect(() => canonicalSpki(generateKeyPairSync('ed25519').publicKey)).toThrow(RangeError);
    expect(() => canonicalSpki(generateKeyPairSync('rsa-pss', { modulusLength: 1024 }).publicKey)).toThrow(RangeError);
    expect(() => canonicalSpki(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey)).toThrow(RangeError);
  });
});
