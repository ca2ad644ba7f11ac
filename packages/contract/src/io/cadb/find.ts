/**
 * A few certificates of the CA database, looked up without loading it (what
 * revoke-cert checks before it queues): the same files, parser and state
 * machine as load.ts, fed only what concerns the serials asked for. Only the
 * index lines holding one of them are parsed (a byte search finds them), and
 * only the journal records naming one of them are applied.
 */
import { CaDatabase, type CertEntry } from '../../core/cadb/database.js';
import type { JournalRecord, RecordType } from '../../core/cadb/journal.js';
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
 * The whole lines of `lines` that contain one of the needles (`\t<SERIAL>\t`),
 * in file order, each once: of a serial listed twice the later line counts.
 * A line with the text in another field is parsed for nothing: rows are keyed
 * by their serial field.
 */
function linesContaining(lines: Buffer, needles: readonly Buffer[]): Buffer {
  const starts = new Set<number>();
  for (const needle of needles) {
    for (let at = lines.indexOf(needle); at >= 0; at = lines.indexOf(needle, at + needle.length)) starts.add(lines.lastIndexOf(NEWLINE, at) + 1);
  }
  const found = [...starts].sort((a, b) => a - b).map((start) => lines.subarray(start, lines.indexOf(NEWLINE, start) + 1));
  return Buffer.concat(found);
}

function findOnce({ layout, checkpoint, indexFile }: CheckpointedFiles, serials: ReadonlySet<SerialHex>): Map<SerialHex, CertEntry> {
  const db = new CaDatabase();
  const needles = [...serials].map((serial) => Buffer.from(`\t${serial}\t`, 'latin1'));
  loadIndexPieces(indexFile, checkpoint.indexBytes, (lines) => db.loadIndex(linesContaining(lines, needles)).bad);
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
