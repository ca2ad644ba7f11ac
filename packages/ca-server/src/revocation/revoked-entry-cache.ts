/**
 * The DER of every revoked entry, encoded once and kept: a revoked entry
 * never changes, so a new CRL only encodes the entries revoked since the
 * last one and concatenates the rest.
 */
import type { CertEntry } from '@etoken-ca/contract/cadb/database';
import { encodeRevokedEntry } from '../x509/crl.js';

export class RevokedEntryCache {
  private readonly encoded = new Map<string, Buffer>();

  /** The encoded entries of the revoked certificates in `entries` (database order); with `dropExpiredAt`, not those expired by then. */
  select(entries: Iterable<CertEntry>, dropExpiredAt: number | null): Buffer[] {
    const out: Buffer[] = [];
    for (const e of entries) {
      if (e.status !== 'R' || e.revokedAt === undefined) continue;
      if (dropExpiredAt !== null && e.notAfter < dropExpiredAt) continue;
      let der = this.encoded.get(e.serial);
      if (!der) {
        der = encodeRevokedEntry({ serial: e.serial, revokedAt: e.revokedAt, reason: e.reason ?? 'unspecified' });
        this.encoded.set(e.serial, der);
      }
      out.push(der);
    }
    return out;
  }
}
