import { describe, expect, it } from 'vitest';
import { CertTable } from './cert-table.js';
import { formatIndexLine, parseIndexLineBytes } from './index-line.js';

const T = Date.UTC(2030, 0, 1);
const serial = (n: number): string => (0x1000 + n).toString(16).toUpperCase();

describe('CertTable', () => {
  it('finds, updates in place and keeps insertion order across growth', () => {
    const table = new CertTable();
    for (let n = 0; n < 5000; n++) table.set({ serial: serial(n), status: 'V', notAfter: T + n, subject: `/CN=user ${n}` });
    expect(table.size).toBe(5000);
    expect(table.get(serial(4321))).toEqual({ serial: serial(4321), status: 'V', notAfter: T + 4321, subject: '/CN=user 4321' });
    expect(table.has('ABCDEF')).toBe(false);
    table.set({ serial: serial(7), status: 'R', notAfter: T, subject: '/CN=user 7', revokedAt: T - 1, reason: 'superseded', withheld: true });
    expect(table.size).toBe(5000);
    expect(table.get(serial(7))).toEqual({ serial: serial(7), status: 'R', notAfter: T, subject: '/CN=user 7', revokedAt: T - 1, reason: 'superseded', withheld: true });
    expect([...table.values()].map((e) => e.serial).slice(0, 9)).toEqual(Array.from({ length: 9 }, (_, n) => serial(n)));
    const revoked: unknown[] = [];
    table.forEachRevoked((row, revokedAt, reason, notAfter) => revoked.push([table.serialAt(row), revokedAt, reason, notAfter]));
    expect(revoked).toEqual([[serial(7), T - 1, 'superseded', T]]);
  });

  it('takes index lines straight from their bytes, UTF-8 subjects included', () => {
    const table = new CertTable();
    const line = Buffer.from(formatIndexLine({ serial: '0A1B', status: 'R', notAfter: T, revokedAt: T - 1000, reason: 'keyCompromise', subject: '/CN=Jürgen' }));
    table.setRaw(line, parseIndexLineBytes(line, 0, line.length - 1)!);
    expect(table.get('0A1B')).toEqual({ serial: '0A1B', status: 'R', notAfter: T, revokedAt: T - 1000, reason: 'keyCompromise', subject: '/CN=Jürgen' });
  });

  it('keeps a subject once for all its rows, and reads every row back with its own', () => {
    const table = new CertTable();
    // 3,000 distinct subjects (past the subject hash's first growth), each on several rows, raw and set.
    for (let n = 0; n < 12_000; n++) {
      const entry = { serial: serial(n), status: 'V' as const, notAfter: T + n, subject: `/O=Grid/CN=user ${n % 3000}` };
      if (n % 2) table.set(entry);
      else {
        const line = Buffer.from(formatIndexLine(entry));
        table.setRaw(line, parseIndexLineBytes(line, 0, line.length - 1)!);
      }
    }
    for (const n of [0, 1, 2999, 3000, 7777, 11_999]) expect(table.get(serial(n))?.subject).toBe(`/O=Grid/CN=user ${n % 3000}`);
    // A prefix of a subject, and a subject that changes on update, are their own.
    table.set({ serial: serial(5), status: 'V', notAfter: T, subject: '/O=Grid/CN=user 1' });
    table.set({ serial: serial(6), status: 'V', notAfter: T, subject: '/O=Grid/CN=user' });
    expect(table.get(serial(5))?.subject).toBe('/O=Grid/CN=user 1');
    expect(table.get(serial(6))?.subject).toBe('/O=Grid/CN=user');
    expect(table.get(serial(3005))?.subject).toBe('/O=Grid/CN=user 5');
  });
});
