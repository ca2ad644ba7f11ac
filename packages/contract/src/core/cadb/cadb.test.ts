import { describe, expect, it } from 'vitest';
import { CaDatabase } from './database.js';
import { formatIndexLine, parseIndexLine } from './index-line.js';
import { decodeJournal, encodeRecord, type JournalRecord } from './journal.js';

const T = Date.UTC(2026, 10, 24, 12, 0, 0);

describe('index.txt lines', () => {
  it('round-trips valid and revoked lines in OpenSSL format', () => {
    const v = { serial: '0A1B', status: 'V' as const, notAfter: T, subject: '/O=x/CN=y' };
    expect(formatIndexLine(v)).toBe('V\t261124120000Z\t\t0A1B\tunknown\t/O=x/CN=y\n');
    const r = { ...v, status: 'R' as const, revokedAt: T, reason: 'keyCompromise' as const };
    expect(formatIndexLine(r)).toBe('R\t261124120000Z\t261124120000Z,keyCompromise\t0A1B\tunknown\t/O=x/CN=y\n');
    expect(parseIndexLine(formatIndexLine(r).trimEnd())).toEqual(r);
    expect(formatIndexLine({ ...v, notAfter: Date.UTC(2051, 0, 1) })).toContain('\t20510101000000Z\t');
  });

  it('rejects malformed lines', () => {
    expect(parseIndexLine('V\tbad\t\t0A\tunknown\t/CN=x')).toBeNull();
    expect(parseIndexLine('X\t261124120000Z\t\t0A\tunknown\t/CN=x')).toBeNull();
  });
});

describe('journal', () => {
  it('stops at a torn or corrupt tail', () => {
    const good: JournalRecord = { t: 'answer', req: 'a'.repeat(32), at: T };
    const bytes = Buffer.from(encodeRecord(good) + encodeRecord(good) + '{"t":"answer","req":"x"');
    const { records, validBytes } = decodeJournal(bytes);
    expect(records).toHaveLength(2);
    expect(validBytes).toBe(Buffer.byteLength(encodeRecord(good)) * 2);
    expect(decodeJournal(Buffer.from('{"t":"issue"}\n')).records).toHaveLength(0);
  });
});

describe('CaDatabase', () => {
  const req = 'b'.repeat(32);
  it('derives certificates, outcomes and uncertain reservations from records', () => {
    const db = new CaDatabase();
    db.apply({ t: 'reserve', req, serial: '01', subject: '/CN=a', notAfter: T, at: T });
    expect(db.hasSerial('01')).toBe(true);
    expect(db.uncertain()).toEqual([{ serial: '01', req }]);
    db.apply({ t: 'issue', req, serial: '01', der: 'AA==', at: T });
    expect(db.uncertain()).toEqual([]);
    expect(db.outcome(req)).toEqual({ kind: 'issued', serial: '01', at: T });
    expect(db.get('01')?.status).toBe('V');
    db.apply({ t: 'revoke', serial: '01', reason: 'superseded', at: T + 1, by: 'root' });
    expect(db.get('01')).toMatchObject({ status: 'R', reason: 'superseded', revokedAt: T + 1 });
    db.apply({ t: 'reserve', req: 'c'.repeat(32), serial: '02', subject: '/CN=b', notAfter: T, at: T });
    db.apply({ t: 'withhold', req: 'c'.repeat(32), serial: '02', why: 'token gone', at: T });
    expect(db.get('02')).toMatchObject({ status: 'R', reason: 'cessationOfOperation', withheld: true });
    db.apply({ t: 'reserve', req: 'd'.repeat(32), serial: '03', subject: '/CN=c', notAfter: T, at: T });
    db.apply({ t: 'release', serial: '03', at: T });
    expect(db.hasSerial('03')).toBe(false);
    expect([...db.indexChunks()].join('').split('\n')).toHaveLength(3);
  });

  it('never moves CRL numbers backwards', () => {
    const db = new CaDatabase();
    db.apply({ t: 'crl-number', number: 5, thisUpdate: T, at: T });
    db.apply({ t: 'crl-number', number: 3, thisUpdate: T - 5, at: T });
    expect(db.crlState.lastNumber).toBe(5);
    expect(db.crlState.lastThisUpdate).toBe(T);
  });
});
