import { describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/config';
import type { ParsedRequest } from '../ipc.js';
import { checkPolicy } from './policy.js';

const defaults = parseConfig('', 'test.conf');
const rsa: ParsedRequest = {
  subject: [{ type: 'CN', value: 'x' }],
  emails: [],
  proxyLifetime: 3600,
  maxCertLifetime: 0,
  spki: '',
  keyType: 'rsa',
  keyBits: 2048,
  rsaExponent: 65537,
  csrHash: 'sha256',
};
const ec: ParsedRequest = { ...rsa, keyType: 'ec', keyBits: 256, rsaExponent: undefined, curve: 'P-256' };

describe('checkPolicy', () => {
  it('allows RSA 2048 with e = 65537 and EC P-256 signed with SHA-256', () => {
    expect(checkPolicy(rsa, defaults)).toBeNull();
    expect(checkPolicy(ec, defaults)).toBeNull();
  });

  it.each([
    [{ keyBits: 2047 }, /RSA key of 2047 bits, at least 2048/],
    [{ rsaExponent: 3 }, /exponent 3 not allowed/],
    [{ rsaExponent: 65536 }, /exponent 65536 not allowed/],
    [{ rsaExponent: 65535 }, /exponent 65535 not allowed/],
    [{ rsaExponent: undefined }, /exponent missing/],
    [{ csrHash: 'sha1' }, /sha1, weaker than sha256/],
    [{ csrHash: 'md5' }, /md5 not supported/],
  ])('refuses RSA with %j', (change, reason) => {
    expect(checkPolicy({ ...rsa, ...change }, defaults)).toMatch(reason);
  });

  it('allows any odd exponent from 65537 up', () => {
    expect(checkPolicy({ ...rsa, rsaExponent: 2 ** 32 + 1 }, defaults)).toBeNull();
  });

  it('follows RSA_MIN_BITS, EC_CURVES and MIN_CSR_HASH', () => {
    const strict = parseConfig('RSA_MIN_BITS=3072\nEC_CURVES=P-384\nMIN_CSR_HASH=sha384\n', 'strict.conf');
    expect(checkPolicy(rsa, strict)).toMatch(/at least 3072/);
    expect(checkPolicy({ ...ec, curve: 'P-384', keyBits: 384 }, strict)).toMatch(/sha256, weaker than sha384/);
    expect(checkPolicy(ec, strict)).toMatch(/EC curve P-256 not allowed \(P-384\)/);
    expect(checkPolicy({ ...ec, curve: 'P-384', csrHash: 'sha512' }, strict)).toBeNull();
  });

  it('refuses every EC key when EC_CURVES is empty', () => {
    expect(checkPolicy(ec, parseConfig('EC_CURVES=\n', 'no-ec.conf'))).toMatch(/no EC keys/);
  });

  it('allows SHA-1 only when MIN_CSR_HASH says so', () => {
    expect(checkPolicy({ ...rsa, csrHash: 'sha1' }, parseConfig('MIN_CSR_HASH=sha1\n', 'sha1.conf'))).toBeNull();
  });
});
