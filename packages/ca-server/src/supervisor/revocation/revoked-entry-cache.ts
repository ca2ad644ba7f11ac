/**
 * The revokedCertificates of the next CRL, kept encoded from one CRL to the
 * next: a revoked entry never changes, so a new CRL encodes only the entries
 * revoked since the last one and appends them to one buffer that already
 * holds the rest. Entries are located by database row (rows are numbered
 * again when expired certificates leave memory: everything is encoded again then);
 * nothing per entry is materialised but the new ones. When an entry leaves
 * (expired, with CRL_DROP_EXPIRED) or changes, the buffer is rebuilt from the
 * kept encodings, still without re-encoding them.
 */
import type { RevokedRowVisitor } from '@etoken-ca/contract/core/cadb/cert-table';
import { REVOCATION_REASONS, type RevocationReason } from '@etoken-ca/contract/core/cadb/index-line';
import type { SerialHex } from '@etoken-ca/contract/core/serial';
import { encodeRevokedEntry } from '@etoken-ca/x509/crl';

export interface RevokedRows {
  forEachRevoked(visit: RevokedRowVisitor): void;
  serialAt(row: number): SerialHex;
  /** Changes when rows are numbered again. */
  readonly rowEpoch: number;
}

export interface CrlEntries {
  /** The encoded entries, one after another; valid until the next select(). */
  readonly der: Buffer;
  readonly count: number;
}

const reasonIndex = (reason: RevocationReason | undefined): number => (reason === undefined ? -1 : REVOCATION_REASONS.indexOf(reason));

/** A Uint32Array/Float64Array/Int8Array grown to hold index `row`. */
function room<T extends Uint32Array | Float64Array | Int8Array>(array: T, row: number): T {
  if (row < array.length) return array;
  const bigger = new (array.constructor as new (n: number) => T)(Math.max(row + 1, array.length * 2, 1024));
  bigger.set(array);
  return bigger;
}

export class RevokedEntryCache {
  /** Per row: where its encoding sits in `blob` (length 0: not in it), and what it was encoded from. */
  private start = new Uint32Array(0);
  private length = new Uint32Array(0);
  private revokedAt = new Float64Array(0);
  private reason = new Int8Array(0);
  /** The few rows with a compromise time (an Invalidity Date in their entry). */
  private readonly compromisedAt = new Map<number, number>();
  private blob = Buffer.alloc(0);
  private used = 0;
  private listed = 0;
  private epoch = 0;

  /** The entries of the revoked certificates in `rows`; with `dropExpiredAt`, not those expired by then. */
  select(rows: RevokedRows, dropExpiredAt: number | null): CrlEntries {
    const wanted = (revokedAt: number, notAfter: number): boolean => !Number.isNaN(revokedAt) && (dropExpiredAt === null || notAfter >= dropExpiredAt);
    if (rows.rowEpoch !== this.epoch) this.forget(rows.rowEpoch);
    const fresh: number[] = [];
    let kept = 0;
    rows.forEachRevoked((row, revokedAt, reason, notAfter, compromisedAt) => {
      if (!wanted(revokedAt, notAfter)) return;
      const code = reasonIndex(reason);
      const same = this.revokedAt[row] === revokedAt && this.reason[row] === code && this.compromisedAt.get(row) === compromisedAt;
      if (row < this.length.length && this.length[row]! > 0 && same) {
        kept++;
        return;
      }
      this.remember(row, revokedAt, code, compromisedAt);
      fresh.push(row);
    });
    // Every entry already in the buffer is still wanted unchanged: only append. Otherwise rebuild in row order.
    if (kept === this.listed) this.append(rows, fresh);
    else this.rebuild(rows, wanted);
    this.listed = kept + fresh.length;
    return { der: this.blob.subarray(0, this.used), count: this.listed };
  }

  /** The rows were numbered again: nothing kept is found by its row any more. */
  private forget(epoch: number): void {
    this.epoch = epoch;
    this.start = new Uint32Array(0);
    this.length = new Uint32Array(0);
    this.revokedAt = new Float64Array(0);
    this.reason = new Int8Array(0);
    this.compromisedAt.clear();
    this.used = 0;
    this.listed = 0;
  }

  private remember(row: number, revokedAt: number, reason: number, compromisedAt: number | undefined): void {
    this.start = room(this.start, row);
    this.length = room(this.length, row);
    this.revokedAt = room(this.revokedAt, row);
    this.reason = room(this.reason, row);
    this.length[row] = 0;
    this.revokedAt[row] = revokedAt;
    this.reason[row] = reason;
    if (compromisedAt === undefined) this.compromisedAt.delete(row);
    else this.compromisedAt.set(row, compromisedAt);
  }

  private encode(rows: RevokedRows, row: number): Buffer {
    const reason = this.reason[row]!;
    const compromisedAt = this.compromisedAt.get(row);
    return encodeRevokedEntry({
      serial: rows.serialAt(row),
      revokedAt: this.revokedAt[row]!,
      reason: reason < 0 ? 'unspecified' : REVOCATION_REASONS[reason]!,
      ...(compromisedAt === undefined ? {} : { compromisedAt }),
    });
  }

  private append(rows: RevokedRows, fresh: readonly number[]): void {
    for (const row of fresh) this.place(this.encode(rows, row), row);
  }

  /** The buffer again, in row order: kept encodings copied from the old buffer, the others (just remembered) encoded. */
  private rebuild(rows: RevokedRows, wanted: (revokedAt: number, notAfter: number) => boolean): void {
    const old = this.blob;
    const oldStart = this.start;
    const oldLength = this.length;
    this.blob = Buffer.allocUnsafe(Math.max(this.used, 1024));
    this.used = 0;
    this.start = new Uint32Array(oldStart.length);
    this.length = new Uint32Array(oldLength.length);
    rows.forEachRevoked((row, revokedAt, _reason, notAfter) => {
      if (!wanted(revokedAt, notAfter)) return;
      const kept = oldLength[row]!;
      this.place(kept > 0 ? old.subarray(oldStart[row], oldStart[row]! + kept) : this.encode(rows, row), row);
    });
  }

  private place(der: Buffer, row: number): void {
    if (this.used + der.length > this.blob.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.used + der.length, this.blob.length * 2, 1024));
      this.blob.copy(bigger, 0, 0, this.used);
      this.blob = bigger;
    }
    this.start[row] = this.used;
    this.length[row] = der.length;
    this.used += der.copy(this.blob, this.used);
  }
}
