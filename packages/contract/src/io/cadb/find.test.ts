import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIndexLine, type IndexEntry } from '../../core/cadb/index-line.js';
import { encodeRecord, type JournalRecord } from '../../core/cadb/journal.js';
import { caLayout, EMPTY_CHECKPOINT, rewrittenIndexName, segmentName, type Checkpoint } from '../../core/cadb/layout.js';
import { findCertificates } from './find.js';
import { loadCaDatabase } from './load.js';

const T = Date.UTC(2026, 0, 1);
const NOT_AFTER = Date.UTC(2030, 0, 1);
const serialOf = (n: number): string => `5E${n.toString(16).toUpperCase().padStart(30, '0')}`;
const valid = (n: number): IndexEntry => ({ serial: serialOf(n), status: 'V', notAfter: NOT_AFTER, subject: `/O=Test/CN=User ${n}` });
const revoked = (n: number): IndexEntry => ({ ...valid(n), status: 'R', revokedAt: T, reason: 'keyCompromise', compromisedAt: T - 60_000 });
const req = (n: number): string => n.toString(16).padStart(32, '0');

/** More index than one piece of the reader (8 MB), so that lines straddle pieces. */
const FILLER_LINES = 120_000;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'find-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeSegments(records: readonly (readonly JournalRecord[])[]): void {
  const journal = caLayout(dir).journal;
  mkdirSync(journal, { recursive: true });
  records.forEach((segment, i) => writeFileSync(join(journal, segmentName(i + 1)), Buffer.concat(segment.map(encodeRecord))));
}

function writeCheckpoint(checkpoint: Partial<Checkpoint>): void {
  writeFileSync(caLayout(dir).checkpoint, JSON.stringify({ ...EMPTY_CHECKPOINT, ...checkpoint }));
}

/** Every serial asked for alone, and all at once: the answer loadCaDatabase gives. */
function expectSameAsLoad(serials: readonly string[]): void {
  const { db } = loadCaDatabase(dir);
  for (const serial of serials) expect(findCertificates(dir, [serial]).get(serial), serial).toEqual(db.get(serial));
  const together = findCertificates(dir, serials);
  for (const serial of serials) expect(together.get(serial), serial).toEqual(db.get(serial));
}

describe('findCertificates', () => {
  it('finds what loadCaDatabase finds: index lines across pieces, the later of two lines, journal records after the checkpoint only', () => {
    const index: IndexEntry[] = [];
    for (let n = 0; n < FILLER_LINES; n++) index.push(n % 10 === 0 ? revoked(n) : valid(n));
    // Serial 1 listed again, revoked: the later line counts.
    index.push(revoked(1), valid(FILLER_LINES));
    const indexText = index.map(formatIndexLine).join('');
    writeFileSync(caLayout(dir).index, indexText);
    // A line after the checkpoint's index bytes is not in the database yet.
    appendFileSync(caLayout(dir).index, formatIndexLine(valid(FILLER_LINES + 1)));

    const before: JournalRecord[] = [{ t: 'revoke', serial: serialOf(3), reason: 'superseded', at: T, by: 'root' }];
    const after: JournalRecord[][] = [
      [
        { t: 'revoke', serial: serialOf(4), reason: 'keyCompromise', at: T + 1, by: 'root', compromisedAt: T },
        { t: 'reserve', req: req(1), serial: serialOf(FILLER_LINES + 10), subject: '/O=Test/CN=Issued', notAfter: NOT_AFTER, at: T },
        { t: 'issue', req: req(1), serial: serialOf(FILLER_LINES + 10), der: 'AA==', at: T },
        { t: 'reserve', req: req(2), serial: serialOf(FILLER_LINES + 11), subject: '/O=Test/CN=Withheld', notAfter: NOT_AFTER, at: T },
        { t: 'withhold', req: req(2), serial: serialOf(FILLER_LINES + 11), why: 'no answer', at: T + 2 },
        { t: 'withhold', req: req(3), serial: serialOf(5), why: 'superseded on replacement', at: T + 3 },
      ],
      [
        { t: 'reserve', req: req(4), serial: serialOf(FILLER_LINES + 12), subject: '/O=Test/CN=Reserved only', notAfter: NOT_AFTER, at: T },
        { t: 'reserve', req: req(5), serial: serialOf(FILLER_LINES + 13), subject: '/O=Test/CN=Released', notAfter: NOT_AFTER, at: T },
        { t: 'release', serial: serialOf(FILLER_LINES + 13), at: T },
        { t: 'issue', req: req(5), serial: serialOf(FILLER_LINES + 13), der: 'AA==', at: T },
        { t: 'import', serial: serialOf(FILLER_LINES + 14), status: 'R', notAfter: NOT_AFTER, subject: '/O=Old/CN=Imported', revokedAt: T, reason: 'affiliationChanged', from: '/old', at: T },
        { t: 'import', serial: serialOf(6), status: 'V', notAfter: NOT_AFTER, subject: '/O=Old/CN=Not over the existing', from: '/old', at: T },
        { t: 'crl-number', number: 7, thisUpdate: T, at: T },
      ],
    ];
    writeSegments([[...before, ...after[0]!], after[1]!]);
    writeCheckpoint({ segment: 1, offset: encodeRecord(before[0]!).length, indexBytes: Buffer.byteLength(indexText) });

    const straddling = Math.floor((8 * 1024 * 1024) / Buffer.byteLength(formatIndexLine(valid(FILLER_LINES - 1))));
    const serials = [0, 1, 2, 3, 4, 5, 6, 7, straddling - 1, straddling, straddling + 1, FILLER_LINES - 1, FILLER_LINES, ...[1, 10, 11, 12, 13, 14, 99].map((n) => FILLER_LINES + n)].map(serialOf);
    expectSameAsLoad([...serials, '0123456789ABCDEF']);

    const found = findCertificates(dir, serials);
    expect(found.get(serialOf(1))).toMatchObject({ status: 'R' });
    expect(found.get(serialOf(3))).toMatchObject({ status: 'V' });
    expect(found.get(serialOf(4))).toMatchObject({ status: 'R', reason: 'keyCompromise', compromisedAt: T });
    expect(found.get(serialOf(5))).toMatchObject({ status: 'R', withheld: true });
    expect(found.get(serialOf(6))).toMatchObject({ status: 'V', subject: '/O=Test/CN=User 6' });
    expect(found.get(serialOf(FILLER_LINES + 10))).toMatchObject({ status: 'V', subject: '/O=Test/CN=Issued' });
    expect(found.get(serialOf(FILLER_LINES + 11))).toMatchObject({ status: 'R', withheld: true, subject: '/O=Test/CN=Withheld' });
    expect(found.get(serialOf(FILLER_LINES + 14))).toMatchObject({ status: 'R', reason: 'affiliationChanged' });
    for (const absent of [FILLER_LINES + 1, FILLER_LINES + 12, FILLER_LINES + 13]) expect(found.has(serialOf(absent))).toBe(false);
  });

  it('reads the index a checkpoint rewrote while it is not renamed yet, and an index whose last line has no newline', () => {
    const layout = caLayout(dir);
    writeFileSync(layout.index, formatIndexLine(valid(1)));
    const rewritten = `${formatIndexLine(revoked(1))}${formatIndexLine(valid(2)).trimEnd()}`;
    writeFileSync(join(dir, rewrittenIndexName(4)), rewritten);
    writeCheckpoint({ generation: 4, indexBytes: rewritten.length });
    expectSameAsLoad([1, 2, 3].map(serialOf));
    expect(findCertificates(dir, [serialOf(1), serialOf(2)])).toEqual(
      new Map([
        [serialOf(1), revoked(1)],
        [serialOf(2), valid(2)],
      ]),
    );
  });

  it('finds nothing in a CA directory not used yet', () => {
    expect(findCertificates(dir, [serialOf(1)]).size).toBe(0);
  });
});
