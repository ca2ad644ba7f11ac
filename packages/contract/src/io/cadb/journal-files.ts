/**
 * Reading the journal's segments (journal/NNNNNNNN.jnl) in order, one
 * segment in memory at a time (segments have a bounded size), with the rules
 * of core/cadb/journal.ts: an incomplete last record of the whole journal is
 * a torn tail, to be cut; anything that is not whole with a whole record
 * after it, in the same segment or a later one, is damage, and stops the
 * reader with a report that says exactly where.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtokenError, ExitCode } from '../../core/exit-codes.js';
import { decodeJournal, type JournalRecord } from '../../core/cadb/journal.js';
import { parseSegmentName, segmentName } from '../../core/cadb/layout.js';
import { cannotRead } from './read-optional.js';

export interface JournalPosition {
  readonly segment: number;
  readonly offset: number;
}

/** Where the journal's whole records end, and what incomplete bytes follow. */
export interface JournalEnd {
  /** The last segment file (the writer appends to it). */
  readonly lastSegment: number;
  /** Where the whole records end: the first incomplete byte, or the end of the last segment. */
  readonly validEnd: JournalPosition;
  /** Bytes of the incomplete tail, from validEnd to the end of the last segment (several segments, when the tail spans them). */
  readonly tornBytes: number;
}

/** The journal is damaged or in a format this version does not read: never read past, never cut. */
export class JournalDamageError extends EtokenError {
  constructor(
    readonly report: string,
    exitCode: ExitCode = ExitCode.dataError,
  ) {
    super(exitCode, report);
    this.name = 'JournalDamageError';
  }
}

/** The segment numbers in the journal directory, ascending (none when it does not exist). */
export function listSegments(journalDir: string): number[] {
  try {
    return readdirSync(journalDir)
      .map(parseSegmentName)
      .filter((n): n is number => n !== null)
      .sort((a, b) => a - b);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw cannotRead(journalDir, e);
  }
}

function readSegment(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw cannotRead(path, e);
  }
}

const OLD_FORMAT =
  'is in the journal format of an earlier version (one JSON record per line, without length or checksum), which this version does not read';

export interface SegmentReport {
  readonly segment: number;
  readonly name: string;
  readonly bytes: number;
  readonly records: number;
  /** One line on what is wrong, when anything is. */
  readonly problem?: string;
}

/**
 * Reads the records of every segment from `from` on, in order, handing each to `onRecord`.
 * Throws JournalDamageError for damage (exit 65) or a segment of the earlier format (exit 78).
 */
export function readJournal(journalDir: string, from: JournalPosition, onRecord: (record: JournalRecord, segment: number) => void): JournalEnd {
  const segments = listSegments(journalDir).filter((n) => n >= from.segment);
  let validEnd: JournalPosition = { segment: from.segment, offset: from.offset };
  const torn: { position: JournalPosition | null; bytes: number } = { position: null, bytes: 0 };
  for (const [i, segment] of segments.entries()) {
    const name = segmentName(segment);
    const expected = i === 0 ? from.segment : segments[i - 1]! + 1;
    if (segment !== expected) throw new JournalDamageError(`journal/${segmentName(expected)} is missing: journal/${name} follows journal/${segmentName(expected - 1)}`);
    const bytes = readSegment(join(journalDir, name));
    const start = segment === from.segment ? from.offset : 0;
    if (start > bytes.length) throw new JournalDamageError(`journal/${name} has ${bytes.length} bytes, but the checkpoint says its records up to byte ${start} are written`);
    const decoded = decodeJournal(bytes.subarray(start));
    const damage = decoded.damage;
    if (damage?.kind === 'old-format') throw new JournalDamageError(`journal/${name} ${OLD_FORMAT}`, ExitCode.config);
    if (torn.position && (decoded.records.length > 0 || damage?.kind === 'damaged')) {
      throw new JournalDamageError(
        `journal/${segmentName(torn.position.segment)} is damaged at byte ${torn.position.offset} (an incomplete record; ${torn.bytes} bytes), ` +
          `and journal/${name} after it holds ${decoded.records.length} whole record(s): records after the damage were written, and may have been acknowledged`,
      );
    }
    if (damage?.kind === 'damaged') {
      const offset = start + damage.offset;
      const after =
        damage.nextRecordAt === null
          ? 'nothing whole follows in the segment'
          : `${damage.recordsAfter} whole record(s) follow from byte ${start + damage.nextRecordAt}`;
      throw new JournalDamageError(
        `journal/${name} is damaged at byte ${offset} (${damage.problem}), after ${decoded.records.length} whole record(s) from byte ${start}; ${after}. ` +
          'Records at or after the damage were written, and may have been acknowledged: the journal is not cut. See etoken-ca-server verify-journal.',
      );
    }
    for (const record of decoded.records) onRecord(record, segment);
    if (torn.position) {
      torn.bytes += bytes.length;
      continue;
    }
    validEnd = { segment, offset: start + decoded.validBytes };
    if (damage?.kind === 'torn') {
      torn.position = validEnd;
      torn.bytes = damage.bytes;
    }
  }
  return { lastSegment: segments.at(-1) ?? from.segment, validEnd, tornBytes: torn.bytes };
}

/** Every segment checked, from the first: what `etoken-ca-server verify-journal` prints. */
export function verifySegments(journalDir: string): { segments: SegmentReport[]; damaged: boolean } {
  const reports: SegmentReport[] = [];
  let damaged = false;
  const numbers = listSegments(journalDir);
  for (const [i, segment] of numbers.entries()) {
    const name = segmentName(segment);
    if (i > 0 && segment !== numbers[i - 1]! + 1) {
      damaged = true;
      reports.push({ segment: segment - 1, name: segmentName(segment - 1), bytes: 0, records: 0, problem: 'missing' });
    }
    const bytes = readSegment(join(journalDir, name));
    const decoded = decodeJournal(bytes);
    const damage = decoded.damage;
    let problem: string | undefined;
    if (damage?.kind === 'old-format') problem = OLD_FORMAT;
    else if (damage?.kind === 'damaged') {
      const after = damage.nextRecordAt === null ? 'nothing whole follows' : `${damage.recordsAfter} whole record(s) follow from byte ${damage.nextRecordAt}`;
      problem = `damaged at byte ${damage.offset}: ${damage.problem}; ${after}`;
    } else if (damage?.kind === 'torn') {
      const last = i === numbers.length - 1 || numbers.slice(i + 1).every((n) => decodeJournal(readSegment(join(journalDir, segmentName(n)))).records.length === 0);
      problem = last
        ? `an incomplete last record of ${damage.bytes} bytes at byte ${damage.offset} (a crash during an append; the server cuts it at start-up)`
        : `damaged at byte ${damage.offset}: an incomplete record of ${damage.bytes} bytes with whole records in later segments`;
      if (!last) damaged = true;
    }
    if (damage?.kind === 'old-format' || damage?.kind === 'damaged') damaged = true;
    reports.push({ segment, name, bytes: bytes.length, records: decoded.records.length, ...(problem ? { problem } : {}) });
  }
  return { segments: reports, damaged };
}
