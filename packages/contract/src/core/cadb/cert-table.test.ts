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

  it('drops rows on compact(), renumbering the rest in order, and goes on as before', () => {
    const table = new CertTable();
    for (let n = 0; n < 3000; n++) table.set({ serial: serial(n), status: 'V', notAfter: T + n, subject: `/CN=user ${n % 100}` });
    table.set({ serial: serial(2500), status: 'R', notAfter: T, subject: '/CN=user 0', revokedAt: T - 1, reason: 'keyCompromise', compromisedAt: T - 5000 });
    expect(table.expiredValidRows(T + 1000)).toHaveLength(1000);
    const before = table.epoch;
    table.compact((row) => row % 3 === 0 || row === 2500);
    expect(table.epoch).toBe(before + 1);
    expect(table.size).toBe(1001);
    expect(table.has(serial(1))).toBe(false);
    expect(table.get(serial(2997))).toEqual({ serial: serial(2997), status: 'V', notAfter: T + 2997, subject: '/CN=user 97' });
    expect([...table.values()].slice(0, 3).map((e) => e.serial)).toEqual([serial(0), serial(3), serial(6)]);
    const revoked: unknown[] = [];
    table.forEachRevoked((row, _at, reason, _notAfter, compromisedAt) => revoked.push([table.serialAt(row), reason, compromisedAt]));
    expect(revoked).toEqual([[serial(2500), 'keyCompromise', T - 5000]]);
    table.set({ serial: serial(5000), status: 'V', notAfter: T, subject: '/CN=user 7' });
    table.set({ serial: serial(3), status: 'R', notAfter: T + 3, subject: '/CN=user 3', revokedAt: T, reason: 'superseded' });
    expect(table.size).toBe(1002);
    expect(table.get(serial(5000))?.subject).toBe('/CN=user 7');
    expect(table.get(serial(3))).toMatchObject({ status: 'R', reason: 'superseded' });
    expect(table.rowOf(serial(5000))).toBe(1001);
  });
});
