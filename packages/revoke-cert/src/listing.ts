/** The certificate table of `revoke-cert --list`: pure, from the CA database. */
import type { CertEntry } from '@etoken-ca/contract/core/cadb/database';
import { onelineText } from '@etoken-ca/contract/core/dn';

export type CertState = 'valid' | 'revoked' | 'expired' | 'withheld';

export interface ListedCert {
  readonly serial: string;
  readonly subject: string;
  readonly state: CertState;
  /** From newcerts/<SERIAL>.pem; null when that file is missing or unreadable. */
  readonly notBefore: string | null;
  readonly notAfter: string;
  readonly revokedAt: string | null;
  readonly reason: string | null;
  /** When the key was compromised (keyCompromise, CACompromise), if known. */
  readonly compromisedAt: string | null;
}

export function stateOf(e: CertEntry, now: number): CertState {
  if (e.withheld) return 'withheld';
  if (e.status === 'R') return 'revoked';
  return e.notAfter <= now ? 'expired' : 'valid';
}

/** The notBefore of a certificate (ISO 8601), or null when it is not known. */
export type NotBeforeLookup = (serial: string) => string | null;

export function listEntry(e: CertEntry, now: number, notBefore: NotBeforeLookup): ListedCert {
  return {
    serial: e.serial,
    subject: e.subject,
    state: stateOf(e, now),
    notBefore: notBefore(e.serial),
    notAfter: new Date(e.notAfter).toISOString(),
    revokedAt: e.revokedAt === undefined ? null : new Date(e.revokedAt).toISOString(),
    reason: e.status === 'R' ? (e.reason ?? 'unspecified') : null,
    compromisedAt: e.status === 'R' && e.compromisedAt !== undefined ? new Date(e.compromisedAt).toISOString() : null,
  };
}

export interface ListFilter {
  readonly state?: CertState;
  /** Matched as typed, and in the database's spelling (non-ASCII bytes as \xHH). */
  readonly subject?: string;
}

export function selectEntries(entries: Iterable<CertEntry>, now: number, filter: ListFilter, notBefore: NotBeforeLookup): ListedCert[] {
  const out: ListedCert[] = [];
  const spelled = filter.subject === undefined ? undefined : onelineText(filter.subject);
  for (const e of entries) {
    if (filter.state && stateOf(e, now) !== filter.state) continue;
    if (filter.subject !== undefined && !e.subject.includes(filter.subject) && !e.subject.includes(spelled!)) continue;
    out.push(listEntry(e, now, notBefore));
  }
  return out;
}

export function formatTable(rows: readonly ListedCert[]): string {
  const header = ['SERIAL', 'STATE', 'NOT BEFORE', 'NOT AFTER', 'REVOKED AT', 'REASON', 'COMPROMISED', 'SUBJECT'];
  const time = (iso: string | null): string => iso?.slice(0, 19) ?? '-';
  const cells = rows.map((r) => [r.serial, r.state, time(r.notBefore), time(r.notAfter), time(r.revokedAt), r.reason ?? '-', time(r.compromisedAt), r.subject]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string =>
    c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}
