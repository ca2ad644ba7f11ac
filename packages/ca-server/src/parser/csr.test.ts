import { createPublicKey, ECDH, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { buildCsr, ecCsr, keys, rsaCsr, SIGNATURE_OIDS } from '../../../../test/corpus/csr-builder.js';
import { csrPublicKey } from './csr.js';

const spkiDer = (key: { publicKey: import('node:crypto').KeyObject }): Buffer => key.publicKey.export({ type: 'spki', format: 'der' });
const config = parseConfig('DN_FORMAT=/O=Example%s\nEC_CURVES=P-256,P-384\n', 'unit.conf');

describe('csrPublicKey', () => {
  it('gives the RSA key of a CSR signed with it, as the CSR carries it', () => {
    expect(csrPublicKey(rsaCsr(keys().rsa2048, 'sha384'), config)).toEqual(spkiDer(keys().rsa2048));
  });

  it('gives an EC key in the form it came in', () => {
    expect(csrPublicKey(ecCsr(keys().p256, 'sha256'), config)).toEqual(spkiDer(keys().p256));
  });

  it('refuses a signature by another key than the one the CSR carries', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const csr = buildCsr({ key: { publicKey: keys().rsa2048.publicKey, privateKey: other.privateKey }, algorithm: SIGNATURE_OIDS.sha256WithRSA, hash: 'sha256', nullParameters: true });
    expect(() => csrPublicKey(csr, config)).toThrow('CSR signature does not verify');
  });

  it('refuses a compressed EC point rather than certify the key in another form', () => {
    const der = spkiDer(keys().p256);
    const point = ECDH.convertKey(der.subarray(-65), 'prime256v1', undefined, undefined, 'compressed') as Buffer;
    const compressed = createPublicKey({ key: Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), point]), format: 'der', type: 'spki' });
    const csr = buildCsr({ key: { publicKey: compressed, privateKey: keys().p256.privateKey }, algorithm: SIGNATURE_OIDS.ecdsaWithSha256, hash: 'sha256' });
    expect(() => csrPublicKey(csr, config)).toThrow('CSR EC public key is not an uncompressed point');
  });

  it('refuses explicit curve parameters', () => {
    const explicit = generateKeyPairSync('ec', { namedCurve: 'P-256', paramEncoding: 'explicit' });
    const csr = buildCsr({ key: explicit, algorithm: SIGNATURE_OIDS.ecdsaWithSha256, hash: 'sha256' });
    expect(() => csrPublicKey(csr, config)).toThrow('CSR EC key without a named curve');
  });

  it('holds the key to the key policy the signer enforces', () => {
    expect(() => csrPublicKey(rsaCsr(keys().rsa1024), config)).toThrow('CSR RSA key of 1024 bits, at least 2048 required');
    expect(() => csrPublicKey(ecCsr(keys().p521, 'sha384'), config)).toThrow('CSR EC curve P-521 not allowed');
  });

  it('refuses a CSR hash weaker than MIN_CSR_HASH', () => {
    expect(() => csrPublicKey(rsaCsr(keys().rsa2048, 'sha1'), config)).toThrow('CSR signed with sha1, weaker than sha256');
  });

  it('names an RSA-PSS key in its refusal', () => {
    const key = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    expect(() => csrPublicKey(buildCsr({ key, algorithm: SIGNATURE_OIDS.sha256WithRSA, hash: 'sha256', nullParameters: true }), config)).toThrow('CSR key type rsa-pss not allowed');
  });

  it('accepts RSA signature parameters left out', () => {
    expect(csrPublicKey(buildCsr({ key: keys().rsa2048, algorithm: SIGNATURE_OIDS.sha256WithRSA, hash: 'sha256' }), config)).toEqual(spkiDer(keys().rsa2048));
  });
});
