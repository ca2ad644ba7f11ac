import { describe, expect, it } from 'vitest';
import { CaDatabase } from '@etoken-ca/contract/core/cadb/database';
import { importRecords } from './import-records.js';
import type { OpensslCaDir } from './openssl-ca-dir.js';

const AT = Date.UTC(2026, 0, 1);

const source: OpensslCaDir = {
  dir: '/old/ca',
  nextSerial: 5n,
  nextCrlNumber: 0x10n,
  certs: [
    { entry: { serial: '01', status: 'V', notAfter: AT + 1000, subject: '/CN=a' }, der: Buffer.from([0x30, 0]), unlisted: false },
    { entry: { serial: '02', status: 'R', notAfter: AT + 1000, subject: '/CN=b', revokedAt: AT - 5, reason: 'superseded' }, unlisted: false },
    { entry: { serial: '03', status: 'E', notAfter: AT - 1000, subject: '/CN=c' }, unlisted: false },
  ],
};

describe('importRecords', () => {
  it('keeps every serial with its state, and continues the CRL numbers after the last one used', () => {
    const db = new CaDatabase();
    for (const r of importRecords(source, AT)) db.apply(r);
    expect(db.get('01')).toMatchObject({ status: 'V', subject: '/CN=a' });
    expect(db.get('02')).toMatchObject({ status: 'R', reason: 'superseded', revokedAt: AT - 5 });
    expect(db.get('03')).toMatchObject({ status: 'E' });
    expect(['01', '02', '03'].every((s) => db.hasSerial(s))).toBe(true);
    expect(db.crlState.lastNumber).toBe(15);
    expect(db.crlState.lastThisUpdate).toBe(AT);
  });

  it('carries the certificate DER where newcerts/ had it', () => {
    const [first, second] = importRecords(source, AT);
    expect(first).toMatchObject({ t: 'import', der: 'MAA=', from: '/old/ca' });
    expect(second).not.toHaveProperty('der');
  });

  it('records no CRL number when openssl ca never made a CRL', () => {
    expect(importRecords({ ...source, nextCrlNumber: 1n }, AT).some((r) => r.t === 'crl-number')).toBe(false);
  });
});
