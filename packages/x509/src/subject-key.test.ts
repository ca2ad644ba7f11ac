import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CURVES, type CurveName } from './canonical-spki.js';
import { checkKeyPolicy, jwkOf, subjectKeyFromSpki } from './subject-key.js';

const der = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });
const policy = { rsaMinBits: 2048, ecCurves: ['P-256', 'P-384'] };
const NAMED: Record<CurveName, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

describe('jwkOf', () => {
  it('hands OpenSSL the very key the SPKI holds', () => {
    const keys = [
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
      generateKeyPairSync('rsa', { modulusLength: 2049, publicExponent: 3 }).publicKey,
      ...Object.values(NAMED).map((namedCurve) => generateKeyPairSync('ec', { namedCurve }).publicKey),
    ];
    for (const publicKey of keys) {
      const spki = der(publicKey);
      expect(der(createPublicKey({ key: jwkOf(subjectKeyFromSpki(spki)), format: 'jwk' })).equals(spki)).toBe(true);
    }
  });
});

describe('subjectKeyFromSpki', () => {
  it('reads what OpenSSL reads from RSA keys', () => {
    for (const [modulusLength, publicExponent] of [[2048, 65537], [2049, 65537], [3072, 3], [4096, 65539]] as const) {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength, publicExponent });
      const spki = der(publicKey);
      const key = subjectKeyFromSpki(spki);
      expect(key).toMatchObject({ type: 'rsa', bits: publicKey.asymmetricKeyDetails?.modulusLength, exponent: BigInt(publicExponent) });
      expect(key.spki.equals(spki)).toBe(true);
    }
  });

  it('accepts every point OpenSSL generates on each curve, and only points on the curve', () => {
    for (const curve of Object.keys(CURVES) as CurveName[]) {
      for (let i = 0; i < 20; i++) {
        const spki = der(generateKeyPairSync('ec', { namedCurve: NAMED[curve] }).publicKey);
        expect(subjectKeyFromSpki(spki)).toMatchObject({ type: 'ec', curve });
        const offCurve = Buffer.from(spki);
        offCurve[offCurve.length - 1]! ^= 1;
        expect(() => createPublicKey({ key: offCurve, format: 'der', type: 'spki' })).toThrow();
        expect(() => subjectKeyFromSpki(offCurve)).toThrow('EC public key is not a point on its curve');
      }
    }
  });

  it('refuses anything but the canonical encoding', () => {
    const spki = der(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
    expect(() => subjectKeyFromSpki(Buffer.concat([spki, Buffer.of(0)]))).toThrow('does not parse');
    expect(() => subjectKeyFromSpki(spki.subarray(0, -1))).toThrow('does not parse');
    // The same key with its NULL parameters left out: OpenSSL takes it, the canonical form has them.
    const bare = Buffer.concat([Buffer.from('30820120300b06092a864886f70d010101', 'hex'), spki.subarray(19)]);
    expect(createPublicKey({ key: bare, format: 'der', type: 'spki' }).asymmetricKeyType).toBe('rsa');
    expect(() => subjectKeyFromSpki(bare)).toThrow('not in canonical form');
    const compressed = createPublicKey({ key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' }), format: 'jwk' });
    const point = Buffer.from(der(compressed));
    point[26] = 2;
    expect(() => subjectKeyFromSpki(point)).toThrow(/uncompressed point|not a point/);
  });

  it('refuses other algorithms and curves by name', () => {
    expect(() => subjectKeyFromSpki(der(generateKeyPairSync('ed25519').publicKey))).toThrow('key type ed25519 not allowed');
    expect(() => subjectKeyFromSpki(der(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey))).toThrow('EC curve secp256k1 not allowed');
  });
});

describe('checkKeyPolicy', () => {
  it('holds RSA to its size and exponent, EC to the allowed curves', () => {
    const rsa = (modulusLength: number, publicExponent = 65537) => subjectKeyFromSpki(der(generateKeyPairSync('rsa', { modulusLength, publicExponent }).publicKey));
    expect(() => checkKeyPolicy(rsa(2048), policy)).not.toThrow();
    expect(() => checkKeyPolicy(rsa(1024), policy)).toThrow('RSA key of 1024 bits, at least 2048 required');
    expect(() => checkKeyPolicy(rsa(2048, 3), policy)).toThrow('RSA public exponent 3 not allowed');
    expect(() => checkKeyPolicy(subjectKeyFromSpki(der(generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).publicKey)), policy)).toThrow('EC curve P-521 not allowed');
  });
});
