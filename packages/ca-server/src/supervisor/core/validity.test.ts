import { describe, expect, it } from 'vitest';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { computeValidity } from './validity.js';

const now = new Date('2030-06-01T12:00:00.750Z');
const nowSeconds = Date.parse('2030-06-01T12:00:00Z');
const config = { backdate: 300, maxLifetime: 86400 };
const farCa = new Date('2040-01-01T00:00:00Z');
const base = { now, proxyLifetime: 3600, maxCertLifetime: 0, config, caNotAfter: farCa };

describe('computeValidity', () => {
  it('backdates notBefore and gives the requested lifetime, in whole seconds', () => {
    expect(computeValidity(base)).toEqual({ notBefore: nowSeconds - 300_000, notAfter: nowSeconds + 3_600_000 });
  });

  it('caps at MAX_LIFETIME', () => {
    expect(computeValidity({ ...base, proxyLifetime: 2 ** 31 }).notAfter).toBe(nowSeconds + 86_400_000);
  });

  it('caps at max_cert_lifetime when MyProxy sets one', () => {
    expect(computeValidity({ ...base, maxCertLifetime: 600 }).notAfter).toBe(nowSeconds + 600_000);
  });

  it('caps at the CA certificate notAfter', () => {
    const caNotAfter = new Date(nowSeconds + 1_500);
    expect(computeValidity({ ...base, caNotAfter }).notAfter).toBe(nowSeconds + 1_000);
  });

  it('refuses when the CA certificate has expired', () => {
    const expired = (): unknown => computeValidity({ ...base, caNotAfter: new Date(nowSeconds) });
    expect(expired).toThrow(EtokenError);
    expect(expired).toThrow('CA certificate has expired');
    try {
      expired();
    } catch (e) {
      expect((e as EtokenError).exitCode).toBe(ExitCode.dataError);
    }
  });
});
