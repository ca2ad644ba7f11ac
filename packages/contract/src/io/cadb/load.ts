/**
 * Loads the CA database from disk, read-only: index.txt as of the last
 * checkpoint, then every journal record after it. Used by the server at
 * start-up and by the commands that need all of it (revoke-cert --list,
 * verify-journal); the server alone writes. find.ts looks up a few
 * certificates without loading the rest.
 *
 * What it reads is bounded by the database and the checkpoint interval,
 * never by the uptime: index.txt (the database), the outcomes the checkpoint
 * kept (the last minutes of requests) and the journal since the checkpoint
 * (bounded by the server's automatic checkpoints), one segment at a time.
 */
import { CaDatabase } from '../../core/cadb/database.js';
import type { JournalRecord } from '../../core/cadb/journal.js';
import type { Checkpoint } from '../../core/cadb/layout.js';
import { readAsOfCheckpoint, type CheckpointedFiles } from './checkpointed-read.js';
import { loadIndexPieces } from './index-file.js';
import { readJournal, type JournalEnd } from './journal-files.js';

export interface LoadedDatabase {
  readonly db: CaDatabase;
  readonly checkpoint: Checkpoint;
  /** The index file read: index.txt, or the one the checkpoint rewrote while it is not renamed yet. */
  readonly indexFile: string;
  /** Rows that came from the index file; rows from here on came from the journal. */
  readonly indexRows: number;
  /** Records after the checkpoint, applied to db. */
  readonly replayed: number;
  /** Whether replayed records changed rows the index file holds already: its lines must be rewritten. */
  readonly indexStale: boolean;
  readonly end: JournalEnd;
}

export interface LoadOptions {
  /** Restore the outcomes the checkpoint kept that are this recent (ms); none when left out. */
  readonly outcomesSince?: number;
  /** Called with each record after the checkpoint, once applied. */
  readonly onReplayed?: (record: JournalRecord) => void;
}

/** A little less than the bytes of a short index line: room enough without regrowing. */
const BYTES_PER_LINE_ESTIMATE = 64;

/** Record types that may change a row's index line. */
const CHANGES_ROWS = new Set(['issue', 'withhold', 'revoke', 'import']);

function loadOnce({ layout, checkpoint, indexFile }: CheckpointedFiles, options: LoadOptions): LoadedDatabase {
  const db = new CaDatabase();
  db.reserve(Math.ceil(checkpoint.indexBytes / BYTES_PER_LINE_ESTIMATE), checkpoint.indexBytes);
  loadIndexPieces(indexFile, checkpoint.indexBytes, (lines) => db.loadIndex(lines).bad);
  const indexRows = db.size;
  db.setCrlState(checkpoint.crl);
  if (options.outcomesSince !== undefined) db.restoreOutcomes(checkpoint.outcomes, options.outcomesSince);

  let replayed = 0;
  let indexStale = false;
  const end = readJournal(layout.journal, checkpoint, (record) => {
    // The index may already hold what a record did (a checkpoint's index can be ahead of its position): stale only if a line changes.
    const serial = CHANGES_ROWS.has(record.t) && 'serial' in record ? record.serial : undefined;
    const row = serial === undefined ? -1 : db.rowOf(serial);
    const lineBefore = row >= 0 && row < indexRows ? db.indexLines(row, row + 1) : null;
    db.apply(record);
    if (lineBefore !== null && db.indexLines(row, row + 1) !== lineBefore) indexStale = true;
    replayed++;
    options.onReplayed?.(record);
  });
  return { db, checkpoint, indexFile, indexRows, replayed, indexStale, end };
}

/** The database as the files hold it (read again when a checkpoint lands meanwhile: see checkpointed-read.ts). */
export function loadCaDatabase(caDir: string, options: LoadOptions = {}): LoadedDatabase {
  return readAsOfCheckpoint(caDir, (files) => loadOnce(files, options));
}
