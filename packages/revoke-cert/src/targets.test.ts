import type { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CertEntry } from '@etoken-ca/contract/core/cadb/database';
import { checkTargets } from './targets.js';

const NOT_AFTER = Date.UTC(2030, 0, 1);
const rows: CertEntry[] = [
  { serial: '0A1B', status: 'V', notAfter: NOT_AFTER, subject: '/CN=valid' },
  { serial: '0C', status: 'R', notAfter: NOT_AFTER, subject: '/CN=revoked', revokedAt: 1, reason: 'superseded' },
  { serial: '0D', status: 'R', notAfter: NOT_AFTER, subject: '/CN=withheld', revokedAt: 1, reason: 'cessationOfOperation', withheld: true },
];
/** Serials only: the CA certificate is read for certificate files alone. */
const NO_FILES = {} as X509Certificate;

describe('checkTargets', () => {
  it('looks up every serial in one call and reports every problem, in the order given', () => {
    const asked: string[][] = [];
    const find = (serials: readonly string[]): ReadonlyMap<string, CertEntry> => {
      asked.push([...serials]);
      return new Map(rows.filter((r) => serials.includes(r.serial)).map((r) => [r.serial, r]));
    };
    const check = checkTargets(['0x0a:1b', '0E', '0c', '0d', 'a1b', 'zz'], NO_FILES, find);
    expect(asked).toEqual([['0A1B', '0E', '0C', '0D', '0A1B']]);
    expect(check.targets).toEqual([{ given: '0x0a:1b', serial: '0A1B', subject: '/CN=valid' }]);
    expect(check.problems).toEqual([
      '0E: serial 0E is not in the CA database',
      '0c: 0C is already revoked',
      '0d: 0D is already revoked (withheld)',
      'a1b: 0A1B given twice',
      'zz: not a serial number (hex) or a certificate file',
    ]);
  });
});
