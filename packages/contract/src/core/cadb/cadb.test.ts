import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.js';
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
    expect(parseIndexLine('V\t2611241200x0Z\t\t0A\tunknown\t/CN=x')).toBeNull();
    expect(parseIndexLine('V\t261124120000Z\t\t0a\tunknown\t/CN=x')).toBeNull();
    expect(parseIndexLine('V\t261124120000Z\t\t0A\tunknown')).toBeNull();
    expect(parseIndexLine('V\t261124120000Z\t\t0A\tunknown\t/CN=x\ty')).toBeNull();
  });

  it('reads both time forms as openssl writes them: two-digit years 50 to 99 in the 1900s, the rest in the 2000s', () => {
    const at = (time: string): number | undefined => parseIndexLine(`V\t${time}\t\t0A\tunknown\t/CN=x`)?.notAfter;
    expect(at('491231235959Z')).toBe(Date.UTC(2049, 11, 31, 23, 59, 59));
    expect(at('500101000000Z')).toBe(Date.UTC(1950, 0, 1));
    expect(at('20510101000000Z')).toBe(Date.UTC(2051, 0, 1));
    expect(at('2051010100000Z')).toBeUndefined();
  });
});

describe('journal', () => {
  const good: JournalRecord = { t: 'answer', req: 'a'.repeat(32), at: T };
  const issue: JournalRecord = { t: 'issue', req: 'b'.repeat(32), serial: '0A1B', der: Buffer.alloc(1200, 7).toString('base64'), at: T };
  const one = encodeRecord(good);
  const three = Buffer.concat([encodeRecord(good), encodeRecord(issue), encodeRecord(good)]);

  it('frames each record with its length and a CRC-32 of length and JSON, as one line', () => {
    const json = JSON.stringify(good);
    expect(one.toString()).toBe(`${Buffer.byteLength(json).toString(16).padStart(8, '0')} ${crc32Of(one).toString(16).padStart(8, '0')} ${json}\n`);
    expect(decodeJournal(three)).toEqual({ records: [good, issue, good], validBytes: three.length, damage: null });
  });

  it('takes an incomplete last record (no newline after it) for a torn tail', () => {
    for (const cut of [1, 10, 18, 40, one.length - 1]) {
      const bytes = Buffer.concat([three, one.subarray(0, cut)]);
      expect(decodeJournal(bytes), `cut at ${cut}`).toEqual({ records: [good, issue, good], validBytes: three.length, damage: { kind: 'torn', offset: three.length, bytes: cut } });
    }
    const zeros = Buffer.concat([three, Buffer.alloc(4096)]);
    expect(decodeJournal(zeros).damage).toEqual({ kind: 'torn', offset: three.length, bytes: 4096 });
    // What a crash test appends in the earlier format, without its newline, is torn too.
    expect(decodeJournal(Buffer.from('{"t":"issue","req":"0123')).damage).toMatchObject({ kind: 'torn', offset: 0 });
  });

  it('reports damage followed by whole records, with where they start, and never takes it for a tail', () => {
    const first = encodeRecord(good).length;
    for (const at of [0, 5, 12, 20, first + 30]) {
      const bytes = Buffer.from(three);
      bytes[at] = bytes[at]! ^ 0x04;
      const decoded = decodeJournal(bytes);
      const damagedRecord = at < first ? 0 : 1;
      expect(decoded.records, `flip at ${at}`).toHaveLength(damagedRecord);
      expect(decoded.damage, `flip at ${at}`).toMatchObject({ kind: 'damaged', offset: damagedRecord === 0 ? 0 : first, recordsAfter: 2 - damagedRecord });
    }
    // A whole last line with a wrong checksum is damage, not a torn tail: its newline says it was written whole.
    const last = Buffer.from(three);
    last[last.length - 5] = last[last.length - 5]! ^ 0x01;
    expect(decodeJournal(last).damage).toMatchObject({ kind: 'damaged', problem: expect.stringMatching(/checksum/), nextRecordAt: null, recordsAfter: 0 });
    // A good checksum over something that is not a journal record (another version's, a bug) is damage too.
    const foreign = Buffer.from('{"t":"nonsense"}');
    const header = `${foreign.length.toString(16).padStart(8, '0')} `;
    const crc = crc32(foreign, 0, foreign.length, crc32(Buffer.from(header.slice(0, 8))));
    const framed = Buffer.concat([Buffer.from(`${header}${crc.toString(16).padStart(8, '0')} `), foreign, Buffer.from('\n')]);
    expect(decodeJournal(framed).damage).toMatchObject({ kind: 'damaged', problem: expect.stringMatching(/not a journal record/) });
  });

  it('recognises a segment in the one-JSON-line format of earlier versions', () => {
    expect(decodeJournal(Buffer.from(`${JSON.stringify(good)}\n`)).damage).toEqual({ kind: 'old-format' });
  });

  it('computes the CRC-32 zlib computes', () => {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff));
    for (const [start, end] of [[0, 0], [0, 1], [3, 17], [0, 1000], [5, 999]] as const) {
      expect(crc32(bytes, start, end)).toBe(zlib.crc32(bytes.subarray(start, end)));
    }
    expect(crc32(bytes, 500, 1000, crc32(bytes, 0, 500))).toBe(zlib.crc32(bytes));
  });
});

/** The checksum a framed record carries: over its length digits and its JSON. */
function crc32Of(record: Buffer): number {
  return crc32(record, 18, record.length - 1, crc32(record, 0, 8));
}

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
    expect(db.crlState.revokedSinceLastCrl).toBe(true);
    // Replayed over an index that has it already (a checkpoint's index may be ahead): the CRL it asked for stays due.
    db.apply({ t: 'crl-number', number: 1, thisUpdate: T, at: T });
    db.apply({ t: 'revoke', serial: '01', reason: 'superseded', at: T + 1, by: 'root' });
    expect(db.crlState.revokedSinceLastCrl).toBe(true);
    db.apply({ t: 'reserve', req: 'c'.repeat(32), serial: '02', subject: '/CN=b', notAfter: T, at: T });
    db.apply({ t: 'withhold', req: 'c'.repeat(32), serial: '02', why: 'token gone', at: T });
    expect(db.get('02')).toMatchObject({ status: 'R', reason: 'cessationOfOperation', withheld: true });
    db.apply({ t: 'reserve', req: 'd'.repeat(32), serial: '03', subject: '/CN=c', notAfter: T, at: T });
    db.apply({ t: 'release', serial: '03', at: T });
    expect(db.hasSerial('03')).toBe(false);
    expect([...db.indexChunks()].join('').split('\n')).toHaveLength(3);
  });

  it('keeps the recent outcomes for a checkpoint and takes them back, newest record first', () => {
    const db = new CaDatabase();
    db.apply({ t: 'reserve', req, serial: '01', subject: '/CN=a', notAfter: T, at: T });
    db.apply({ t: 'issue', req, serial: '01', der: 'AA==', at: T });
    db.apply({ t: 'refuse', req: 'c'.repeat(32), exit: 65, reason: 'no', at: T - 10 });
    db.apply({ t: 'refuse', req: 'd'.repeat(32), exit: 75, reason: 'old', at: T - 1000 });
    const kept = db.recentOutcomes(T - 100);
    expect(kept).toEqual([
      [req, T, 'i', '01'],
      ['c'.repeat(32), T - 10, 'r', 65, 'no'],
    ]);
    const restored = new CaDatabase();
    restored.apply({ t: 'refuse', req: 'c'.repeat(32), exit: 70, reason: 'newer', at: T });
    restored.restoreOutcomes(kept, T - 5);
    expect(restored.outcome(req)).toEqual({ kind: 'issued', serial: '01', at: T });
    expect(restored.outcome('c'.repeat(32))).toMatchObject({ reason: 'newer' });
    restored.restoreOutcomes(kept, 0);
    expect(restored.outcome('c'.repeat(32))).toMatchObject({ reason: 'newer' });
  });

  it('never moves CRL numbers backwards', () => {
    const db = new CaDatabase();
    db.apply({ t: 'crl-number', number: 5, thisUpdate: T, at: T });
    db.apply({ t: 'crl-number', number: 3, thisUpdate: T - 5, at: T });
    expect(db.crlState.lastNumber).toBe(5);
    expect(db.crlState.lastThisUpdate).toBe(T);
  });
});
