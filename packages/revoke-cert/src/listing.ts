/** The certificate table of `revoke-cert --list`: pure, from the CA database. */
import type { CertEntry } from '@etoken-ca/contract/cadb/database';

export type CertState = 'valid' | 'revoked' | 'expired' | 'withheld';

export interface ListedCert {
  readonly serial: string;
  readonly subject: string;
  readonly state: CertState;
  readonly notAfter: string;
  readonly revokedAt: string | null;
  readonly reason: string | null;
}

export function stateOf(e: CertEntry, now: number): CertState {
  if (e.withheld) return 'withheld';
  if (e.status === 'R') return 'revoked';
  return e.notAfter <= now ? 'expired' : 'valid';
}

export function listEntry(e: CertEntry, now: number): ListedCert {
  return {
    serial: e.serial,
    subject: e.subject,
    state: stateOf(e, now),
    notAfter: new Date(e.notAfter).toISOString(),
    revokedAt: e.revokedAt === undefined ? null : new Date(e.revokedAt).toISOString(),
    reason: e.status === 'R' ? (e.reason ?? 'unspecified') : null,
  };
}

export interface ListFilter {
  readonly state?: CertState;
  readonly subject?: string;
}

export function selectEntries(entries: Iterable<CertEntry>, now: number, filter: ListFilter): ListedCert[] {
  const out: ListedCert[] = [];
  for (const e of entries) {
    const listed = listEntry(e, now);
    if (filter.state && listed.state !== filter.state) continue;
    if (filter.subject && !listed.subject.includes(filter.subject)) continue;
    out.push(listed);
  }
  return out;
}

export function formatTable(rows: readonly ListedCert[]): string {
  const header = ['SERIAL', 'STATE', 'NOT AFTER', 'REVOKED AT', 'REASON', 'SUBJECT'];
  const cells = rows.map((r) => [r.serial, r.state, r.notAfter.slice(0, 19), r.revokedAt?.slice(0, 19) ?? '-', r.reason ?? '-', r.subject]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string =>
    c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}
