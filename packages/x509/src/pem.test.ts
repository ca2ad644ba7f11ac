import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pemBytes } from './pem.js';

/** The plain way: base64, cut into lines of 64. */
function reference(der: Buffer, label: string): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.map((line) => `${line}\n`).join('')}-----END ${label}-----\n`;
}

describe('pemBytes', () => {
  it('writes what base64 in 64-character lines gives, for every length modulo 3 and 48', () => {
    for (const length of [1, 2, 3, 47, 48, 49, 95, 96, 97, 1000, 4097]) {
      const der = randomBytes(length);
      expect(pemBytes(der, 'X509 CRL').toString('latin1')).toBe(reference(der, 'X509 CRL'));
    }
  });
});
