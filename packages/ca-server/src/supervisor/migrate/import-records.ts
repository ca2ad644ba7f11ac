/** The journal records that take an openssl ca directory over. Pure. */
import type { JournalRecord } from '@etoken-ca/contract/core/cadb/journal';
import type { OpensslCaDir } from './openssl-ca-dir.js';

export function importRecords(source: OpensslCaDir, at: number): JournalRecord[] {
  const records: JournalRecord[] = source.certs.map(({ entry, der }) => ({
    t: 'import',
    serial: entry.serial,
    status: entry.status,
    notAfter: entry.notAfter,
    subject: entry.subject,
    ...(entry.status === 'R' ? { revokedAt: entry.revokedAt, reason: entry.reason } : {}),
    ...(entry.status === 'R' && entry.compromisedAt !== undefined ? { compromisedAt: entry.compromisedAt } : {}),
    ...(der ? { der: der.toString('base64') } : {}),
    from: source.dir,
    at,
  }));
  // crlnumber holds the next number: the last one used is one less, and ours continue after it.
  const lastCrl = source.nextCrlNumber === null ? 0n : source.nextCrlNumber - 1n;
  if (lastCrl > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`CRL number ${lastCrl} is too large to continue from`);
  if (lastCrl > 0n) records.push({ t: 'crl-number', number: Number(lastCrl), thisUpdate: at, at });
  return records;
}
