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
import { join } from 'node:path';
import { ColdLines } from '../../core/cadb/cold-lines.js';
import { decodeColdSummary } from '../../core/cadb/cold-summary.js';
import { CaDatabase } from '../../core/cadb/database.js';
import type { JournalRecord } from '../../core/cadb/journal.js';
import { coldSummaryName, type Checkpoint } from '../../core/cadb/layout.js';
import { readAsOfCheckpoint, type CheckpointedFiles } from './checkpointed-read.js';
import { indexLineOf } from './find.js';
import { loadIndexPieces } from './index-file.js';
import { readJournal, type JournalEnd } from './journal-files.js';
import { readOptional } from './read-optional.js';

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
  /**
   * With coldBefore: 'settled' when the cold lines are exactly the prefix the checkpoint's summary describes
   * (the next start-up reads none of them), 'scattered' when start-up found more of them or had no summary,
   * 'summary-unusable' when the checkpoint names a summary that is missing or damaged (the whole index was read).
   */
  readonly cold?: 'settled' | 'scattered' | 'summary-unusable';
}

export interface LoadOptions {
  /** Restore the outcomes the checkpoint kept that are this recent (ms); none when left out. */
  readonly outcomesSince?: number;
  /** Called with each record after the checkpoint, once applied. */
  readonly onReplayed?: (record: JournalRecord) => void;
  /** Leaves the certificates expired before this time (ms) and not revoked on disk (cold-lines.ts): the server's start-up. */
  readonly coldBefore?: number;
}

/** A little less than the bytes of a short index line: room enough without regrowing (see CertTable.reserve). */
const BYTES_PER_LINE_ESTIMATE = 64;

/** Record types that may change a row's index line. */
const CHANGES_ROWS = new Set(['issue', 'withhold', 'revoke', 'import']);

interface ColdStart {
  readonly lines: ColdLines;
  /** Where the index is read from: the end of the summarized prefix, or 0. */
  readonly from: number;
  readonly summarized: boolean;
  /** The checkpoint names a summary that is missing or damaged. */
  readonly rejected: boolean;
}

/** The cold lines as the checkpoint's summary gives them, when it names a usable one; else none yet, to be found by reading the whole index. */
function coldStart({ layout, checkpoint }: CheckpointedFiles, useSummary: boolean): ColdStart {
  const prefix = checkpoint.cold;
  if (prefix && prefix.bytes > 0 && useSummary) {
    const file = readOptional(join(layout.dir, coldSummaryName(prefix.generation)));
    const summary = file && decodeColdSummary(file, prefix.bytes, prefix.lines);
    if (summary) {
      const lines = new ColdLines(summary.filter);
      lines.takePrefix(prefix.bytes, prefix.lines);
      return { lines, from: prefix.bytes, summarized: true, rejected: false };
    }
  }
  return { lines: ColdLines.forIndexOf(checkpoint.indexBytes), from: 0, summarized: false, rejected: useSummary && prefix !== undefined && prefix.bytes > 0 };
}

function loadOnce(files: CheckpointedFiles, options: LoadOptions, useSummary = true): LoadedDatabase {
  const { layout, checkpoint, indexFile } = files;
  const db = new CaDatabase();
  const coldBefore = options.coldBefore;
  const cold = coldBefore === undefined ? null : coldStart(files, useSummary);
  const toRead = checkpoint.indexBytes - (cold?.from ?? 0);
  db.reserve(Math.ceil(toRead / BYTES_PER_LINE_ESTIMATE), toRead);
  if (cold) {
    db.cold = cold.lines;
    loadIndexPieces(indexFile, checkpoint.indexBytes, (lines, at) => db.loadIndex(lines, { lines: cold.lines, at, expiredBefore: coldBefore! }).bad, cold.from);
    // More cold lines than the summary's filter was made for: made again, larger, from the whole index.
    if (cold.summarized && cold.lines.overfull) return loadOnce(files, options, false);
  } else {
    loadIndexPieces(indexFile, checkpoint.indexBytes, (lines) => db.loadIndex(lines).bad);
  }
  const indexRows = db.size;
  db.setCrlState(checkpoint.crl);
  if (options.outcomesSince !== undefined) db.restoreOutcomes(checkpoint.outcomes, options.outcomesSince);

  let replayed = 0;
  let indexStale = false;
  const end = readJournal(layout.journal, checkpoint, (record) => {
    // The index may already hold what a record did (a checkpoint's index can be ahead of its position): stale only if a line changes.
    const serial = CHANGES_ROWS.has(record.t) && 'serial' in record ? record.serial : undefined;
    // A revocation of a cold certificate (an operator's, after start-up had left it on disk): its line is read back.
    if (record.t === 'revoke' && db.mayBeCold(record.serial)) {
      const line = indexLineOf(indexFile, checkpoint.indexBytes, record.serial);
      if (line && db.rehydrate(line)) indexStale = true;
    }
    const row = serial === undefined ? -1 : db.rowOf(serial);
    const lineBefore = row >= 0 && row < indexRows ? db.indexLines(row, row + 1) : null;
    db.apply(record);
    if (lineBefore !== null && db.indexLines(row, row + 1) !== lineBefore) indexStale = true;
    replayed++;
    options.onReplayed?.(record);
  });
  const loaded = { db, checkpoint, indexFile, indexRows, replayed, indexStale, end };
  if (!cold) return loaded;
  const settled = cold.summarized && cold.lines.lines === checkpoint.cold?.lines;
  return { ...loaded, cold: cold.rejected ? 'summary-unusable' : settled ? 'settled' : 'scattered' };
}

/** The database as the files hold it (read again when a checkpoint lands meanwhile: see checkpointed-read.ts). */
export function loadCaDatabase(caDir: string, options: LoadOptions = {}): LoadedDatabase {
  return readAsOfCheckpoint(caDir, (files) => loadOnce(files, options));
}
