import { describe, expect, it } from 'vitest';
import type { CertEntry } from '@etoken-ca/contract/core/cadb/database';
import { formatTable, selectEntries } from './listing.js';

const T = Date.UTC(2026, 10, 24, 12, 0, 0);
const entries: CertEntry[] = [
  { serial: '01', status: 'V', notAfter: T + 86_400_000, subject: '/DC=org/CN=J\\xC3\\xBCrgen M\\xC3\\xBCller, Jr.' },
  { serial: '02', status: 'R', notAfter: T + 86_400_000, revokedAt: T, reason: 'keyCompromise', compromisedAt: T - 3_600_000, subject: "/DC=org/CN=Patrick O'Brien" },
];
const none = (): null => null;

describe('revoke-cert --list', () => {
  it('finds a subject typed as the operator reads it or as index.txt spells it', () => {
    expect(selectEntries(entries, T, { subject: 'Müller, Jr.' }, none).map((r) => r.serial)).toEqual(['01']);
    expect(selectEntries(entries, T, { subject: 'M\\xC3\\xBCller' }, none).map((r) => r.serial)).toEqual(['01']);
    expect(selectEntries(entries, T, { subject: "O'Brien" }, none).map((r) => r.serial)).toEqual(['02']);
    expect(selectEntries(entries, T, { subject: 'Mueller' }, none)).toEqual([]);
  });

  it('shows the compromise time of a revocation that has one', () => {
    const rows = selectEntries(entries, T, {}, none);
    expect(rows.map((r) => r.compromisedAt)).toEqual([null, '2026-11-24T11:00:00.000Z']);
    expect(formatTable(rows).split('\n')[2]).toMatch(/^02\s+revoked\s.*keyCompromise\s+2026-11-24T11:00:00\s+\/DC=org/);
  });
});
