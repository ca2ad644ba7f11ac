import { createPublicKey, ECDH, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildCsr, ecCsr, keys, rsaCsr, SIGNATURE_OIDS } from '../../../../test/corpus/csr-builder.js';
import { inspectCsr } from './csr.js';

const spkiDer = (key: { publicKey: import('node:crypto').KeyObject }): Buffer => key.publicKey.export({ type: 'spki', format: 'der' });

describe('inspectCsr', () => {
  it('reports an RSA key without EC fields', () => {
    const result = inspectCsr(rsaCsr(keys().rsa2048, 'sha384'));
    expect(result).toEqual({ spki: spkiDer(keys().rsa2048).toString('base64'), keyType: 'rsa', keyBits: 2048, rsaExponent: 65537, csrHash: 'sha384' });
  });

  it('reports an EC key by its NIST name', () => {
    expect(inspectCsr(ecCsr(keys().p521, 'sha384'))).toMatchObject({ keyType: 'ec', keyBits: 521, curve: 'P-521' });
  });

  it('refuses a signature by another key than the one the CSR carries', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const csr = buildCsr({ key: { publicKey: keys().rsa2048.publicKey, privateKey: other.privateKey }, algorithm: SIGNATURE_OIDS.sha256WithRSA, hash: 'sha256', nullParameters: true });
    expect(() => inspectCsr(csr)).toThrow('CSR signature does not verify');
  });

  it('reports an EC key in the form it came in when that form is canonical', () => {
    expect(inspectCsr(ecCsr(keys().p256, 'sha256'))).toEqual({ spki: spkiDer(keys().p256).toString('base64'), keyType: 'ec', keyBits: 256, curve: 'P-256', csrHash: 'sha256' });
  });

  it('gives a compressed EC point back in uncompressed form', () => {
    const der = spkiDer(keys().p256);
    const point = ECDH.convertKey(der.subarray(-65), 'prime256v1', undefined, undefined, 'compressed') as Buffer;
    const compressed = createPublicKey({ key: Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), point]), format: 'der', type: 'spki' });
    const csr = buildCsr({ key: { publicKey: compressed, privateKey: keys().p256.privateKey }, algorithm: SIGNATURE_OIDS.ecdsaWithSha256, hash: 'sha256' });
    expect(inspectCsr(csr).spki).toBe(der.toString('base64'));
  });

  it('refuses an RSA exponent a JSON number cannot carry exactly', () => {
    const jwk = keys().rsa2048.publicKey.export({ format: 'jwk' });
    const publicKey = createPublicKey({ key: { ...jwk, e: Buffer.from('010000000000000001', 'hex').toString('base64url') }, format: 'jwk' });
    const csr = buildCsr({ key: { publicKey, privateKey: keys().rsa2048.privateKey }, algorithm: SIGNATURE_OIDS.sha256WithRSA, hash: 'sha256', nullParameters: true });
    expect(() => inspectCsr(csr)).toThrow('RSA public exponent too large');
  });

  it('refuses an RSA-PSS key', () => {
    const key = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    expect(() => inspectCsr(buildCsr({ key, algorithm: SIGNATURE_OIDS.sha256WithRSA, hash: 'sha256', nullParameters: true }))).toThrow('unsupported key type rsa-pss');
  });

  it('accepts RSA signature parameters left out', () => {
    expect(inspectCsr(buildCsr({ key: keys().rsa2048, algorithm: SIGNATURE_OIDS.sha256WithRSA, hash: 'sha256' })).keyType).toBe('rsa');
  });
});
