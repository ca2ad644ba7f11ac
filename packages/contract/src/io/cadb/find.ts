/**
 * A few certificates of the CA database, looked up without loading it (what
 * revoke-cert checks before it queues): the same files, parser and state
 * machine as load.ts, fed only what concerns the serials asked for. Only the
 * index lines holding one of them are parsed (a byte search finds them), and
 * only the journal records naming one of them are applied.
 */
import { CaDatabase, type CertEntry } from '../../core/cadb/database.js';
import type { JournalRecord, RecordType } from '../../core/cadb/journal.js';
import { lineStartsHolding, serialNeedle } from '../../core/cadb/line-search.js';
import type { SerialHex } from '../../core/serial.js';
import { readAsOfCheckpoint, type CheckpointedFiles } from './checkpointed-read.js';
import { loadIndexPieces } from './index-file.js';
import { readJournal } from './journal-files.js';

const NEWLINE = 0x0a;

/** Records that change a certificate's row or a serial's reservation (an issue record needs its reserve record). */
const ROW_RECORDS: ReadonlySet<RecordType> = new Set(['reserve', 'issue', 'withhold', 'refuse', 'release', 'revoke', 'import']);

const namesOneOf = (record: JournalRecord, serials: ReadonlySet<string>): boolean =>
  ROW_RECORDS.has(record.t) && 'serial' in record && record.serial !== undefined && serials.has(record.serial);

/**
 * The whole lines of `lines` that contain one of the needles, in file order, each once: of a serial listed
 * twice the later line counts. A line with the text in another field is parsed for nothing: rows are keyed
 * by their serial field.
 */
function linesContaining(lines: Buffer, needles: readonly Buffer[]): Buffer {
  const found = lineStartsHolding(lines, needles).map((start) => lines.subarray(start, lines.indexOf(NEWLINE, start) + 1));
  return Buffer.concat(found);
}

function findOnce({ layout, checkpoint, indexFile }: CheckpointedFiles, serials: ReadonlySet<SerialHex>): Map<SerialHex, CertEntry> {
  const db = new CaDatabase();
  const search = (wanted: Iterable<SerialHex>, from: number, to: number): void => {
    const needles = [...wanted].map(serialNeedle);
    if (needles.length > 0) loadIndexPieces(indexFile, to, (lines) => db.loadIndex(linesContaining(lines, needles)).bad, from);
  };
  // The lines after the cold prefix (cold-lines.ts) first: they hold every certificate still valid or revoked, and
  // any line there is later than the prefix's. The prefix, expired certificates only, is read for the serials not found.
  const prefix = checkpoint.cold?.bytes ?? 0;
  search(serials, prefix, checkpoint.indexBytes);
  search([...serials].filter((serial) => !db.get(serial)), 0, prefix);
  readJournal(layout.journal, checkpoint, (record) => {
    if (namesOneOf(record, serials)) db.apply(record);
  });
  const found = new Map<SerialHex, CertEntry>();
  for (const serial of serials) {
    const entry = db.get(serial);
    if (entry) found.set(serial, entry);
  }
  return found;
}

/** The certificates of these serials (canonical spelling) as loadCaDatabase would have them; a serial the database lacks is absent. */
export function findCertificates(caDir: string, serials: readonly SerialHex[]): ReadonlyMap<SerialHex, CertEntry> {
  const wanted = new Set(serials);
  return readAsOfCheckpoint(caDir, (files) => findOnce(files, wanted));
}

/**
 * The last line of the index file's first `length` bytes that holds `serial` (the server reading a cold
 * certificate back: cold-lines.ts), null when none does. Reads the whole file: for an operator's rare action.
 */
export function indexLineOf(indexFile: string, length: number, serial: SerialHex): Buffer | null {
  const needle = [serialNeedle(serial)];
  let last: Buffer | null = null;
  loadIndexPieces(indexFile, length, (lines) => {
    const found = linesContaining(lines, needle);
    if (found.length > 0) last = Buffer.from(found.subarray(found.lastIndexOf(NEWLINE, found.length - 2) + 1));
    return 0;
  });
  return last;
}
