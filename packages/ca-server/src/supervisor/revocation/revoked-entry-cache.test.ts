import { describe, expect, it } from 'vitest';
import { CaDatabase } from '@etoken-ca/contract/core/cadb/database';
import { encodeRevokedEntry } from '@etoken-ca/x509/crl';
import { RevokedEntryCache } from './revoked-entry-cache.js';

const T = Date.UTC(2030, 0, 1);

function databaseOf(count: number): CaDatabase {
  const db = new CaDatabase();
  for (let n = 1; n <= count; n++) db.apply({ t: 'import', serial: n.toString(16).toUpperCase().padStart(4, '0'), status: 'V', notAfter: T + n * 1000, subject: `/CN=u${n}`, from: 'test', at: T });
  return db;
}

const revoke = (db: CaDatabase, n: number, at = T - n): void =>
  void db.apply({ t: 'revoke', serial: n.toString(16).toUpperCase().padStart(4, '0'), reason: 'keyCompromise', at, by: 'test' });

const entry = (n: number, at = T - n): Buffer => encodeRevokedEntry({ serial: n.toString(16).toUpperCase().padStart(4, '0'), revokedAt: at, reason: 'keyCompromise' });

describe('RevokedEntryCache', () => {
  it('appends only what was revoked since the last CRL, keeping the earlier bytes', () => {
    const db = databaseOf(10);
    const cache = new RevokedEntryCache();
    expect(cache.select(db, null)).toEqual({ der: Buffer.alloc(0), count: 0 });
    revoke(db, 7);
    revoke(db, 2);
    const first = cache.select(db, null);
    expect(first.der).toEqual(Buffer.concat([entry(2), entry(7)]));
    revoke(db, 1);
    const second = cache.select(db, null);
    expect(second).toEqual({ der: Buffer.concat([entry(2), entry(7), entry(1)]), count: 3 });
    expect(first.der).toEqual(Buffer.concat([entry(2), entry(7)]));
  });

  it("carries a revocation's compromise time into its entry, from the journal and from index.txt", () => {
    const db = databaseOf(3);
    const compromisedAt = T - 86400_000;
    db.apply({ t: 'revoke', serial: '0002', reason: 'keyCompromise', at: T - 2, by: 'test', compromisedAt });
    const withDate = encodeRevokedEntry({ serial: '0002', revokedAt: T - 2, reason: 'keyCompromise', compromisedAt });
    expect(new RevokedEntryCache().select(db, null).der).toEqual(withDate);
    // The same row after a checkpoint: index.txt's keyTime brings the time back.
    const reloaded = new CaDatabase();
    reloaded.loadIndex(Buffer.from(db.indexLines(0, db.size)));
    expect(reloaded.get('0002')?.compromisedAt).toBe(compromisedAt);
    expect(new RevokedEntryCache().select(reloaded, null).der).toEqual(withDate);
  });

  it('rebuilds in row order when an entry leaves or changes', () => {
    const db = databaseOf(10);
    const cache = new RevokedEntryCache();
    for (const n of [9, 3, 5]) revoke(db, n);
    cache.select(db, null);
    // Serial 3 expires at T + 3000: dropped, the rest kept in row order.
    expect(cache.select(db, T + 4000)).toEqual({ der: Buffer.concat([entry(5), entry(9)]), count: 2 });
    db.apply({ t: 'withhold', req: 'r', serial: '0005', why: 'test', at: T + 1 });
    const changed = encodeRevokedEntry({ serial: '0005', revokedAt: T + 1, reason: 'cessationOfOperation' });
    expect(cache.select(db, null)).toEqual({ der: Buffer.concat([entry(3), changed, entry(9)]), count: 3 });
  });
});
