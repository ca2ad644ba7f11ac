import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTokenGone, pkcs11Code, tokenError } from './pkcs11-errors.js';
import { publicKeyFromAttributes } from './public-key-object.js';
import { selectSlot } from './slot-selection.js';
import { TokenError } from './token.js';

describe('slot selection', () => {
  const present = [
    { label: 'other                           ', serial: '1111111111111111' },
    { label: 'etoken-ca                       ', serial: '2222222222222222' },
    { label: 'etoken-ca', serial: '3333333333333333' },
  ];

  it('finds the token by label and serial, ignoring PKCS#11 blank padding', () => {
    expect(selectSlot(present, { label: 'other', serial: '', slotIndex: 0 })).toBe(0);
    expect(selectSlot(present, { label: 'etoken-ca', serial: '3333333333333333', slotIndex: 0 })).toBe(2);
    expect(selectSlot(present, { label: '', serial: '2222222222222222', slotIndex: 0 })).toBe(1);
  });

  it('refuses an ambiguous or missing token instead of guessing', () => {
    expect(() => selectSlot(present, { label: 'etoken-ca', serial: '', slotIndex: 0 })).toThrow(/more than one token/);
    expect(() => selectSlot(present, { label: 'nope', serial: '', slotIndex: 0 })).toThrow(/no token with label "nope"/);
  });

  it('falls back to the slot index only when nothing else is configured', () => {
    expect(selectSlot(present, { label: '', serial: '', slotIndex: 1 })).toBe(1);
    expect(() => selectSlot(present, { label: '', serial: '', slotIndex: 3 })).toThrow(TokenError);
  });
});

describe('PKCS#11 errors', () => {
  const pkcs11Error = (code: string): Error => Object.assign(new Error(code), { stack: `Pkcs11Error: ${code}\n    at PKCS11.C_Sign` });

  it('classifies removal codes as a gone token', () => {
    for (const code of ['CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT', 'CKR_SESSION_HANDLE_INVALID', 'CKR_GENERAL_ERROR', 'CKR_OBJECT_HANDLE_INVALID', 'CKR_USER_NOT_LOGGED_IN']) {
      expect(tokenError(pkcs11Error(code), 'signing').kind).toBe('gone');
    }
    expect(isTokenGone('CKR_MECHANISM_INVALID')).toBe(false);
  });

  it('keeps a device error apart: the token may still be there, which only a presence check tells', () => {
    expect(tokenError(pkcs11Error('CKR_DEVICE_ERROR'), 'signing')).toMatchObject({ kind: 'device', message: 'signing: CKR_DEVICE_ERROR' });
    expect(isTokenGone('CKR_DEVICE_ERROR')).toBe(false);
  });

  it('maps login failures and keeps the message to the step and the code', () => {
    expect(tokenError(pkcs11Error('CKR_PIN_INCORRECT'), 'login')).toMatchObject({ kind: 'pin-incorrect', message: 'login: CKR_PIN_INCORRECT' });
    expect(tokenError(pkcs11Error('CKR_PIN_LOCKED'), 'login').kind).toBe('pin-locked');
    expect(tokenError(pkcs11Error('CKR_PIN_LEN_RANGE'), 'login').kind).toBe('pin-length');
    expect(tokenError(new Error('boom'), 'x')).toMatchObject({ kind: 'failed', message: 'x: boom' });
    expect(pkcs11Code('nothing here')).toBeUndefined();
  });
});

describe('public key objects', () => {
  it('rebuilds RSA keys from modulus and exponent', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const rebuilt = publicKeyFromAttributes({
      kind: 'rsa',
      modulus: Buffer.concat([Buffer.of(0), Buffer.from(jwk.n!, 'base64url')]),
      publicExponent: Buffer.from(jwk.e!, 'base64url'),
    });
    expect(rebuilt?.equals(publicKey)).toBe(true);
  });

  it('rebuilds EC keys from a wrapped or raw point, and refuses unknown curves', () => {
    for (const [curve, params] of [
      ['P-256', '06082a8648ce3d030107'],
      ['P-384', '06052b81040022'],
    ] as const) {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const jwk = publicKey.export({ format: 'jwk' });
      const raw = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
      const wrapped = Buffer.concat([Buffer.of(4, raw.length), raw]);
      for (const point of [raw, wrapped]) {
        expect(publicKeyFromAttributes({ kind: 'ec', params: Buffer.from(params, 'hex'), point })?.equals(publicKey)).toBe(true);
      }
      expect(publicKeyFromAttributes({ kind: 'ec', params: Buffer.from('06052b81040023', 'hex'), point: raw })).toBeNull();
      expect(publicKeyFromAttributes({ kind: 'ec', params: Buffer.from(params, 'hex'), point: raw.subarray(1) })).toBeNull();
    }
  });
});
