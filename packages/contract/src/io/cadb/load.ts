/**
 * Loads the CA database from disk, read-only: index.txt as of the last
 * checkpoint, then every journal record after it. Used by the server at
 * start-up and by revoke-cert; the server alone writes.
 *
 * What it reads is bounded by the database and the checkpoint interval,
 * never by the uptime: index.txt (the database), the outcomes the checkpoint
 * kept (the last minutes of requests) and the journal since the checkpoint
 * (bounded by the server's automatic checkpoints), one segment at a time.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { EtokenError, ExitCode } from '../../core/exit-codes.js';
import { CaDatabase } from '../../core/cadb/database.js';
import type { JournalRecord } from '../../core/cadb/journal.js';
import { caLayout, EMPTY_CHECKPOINT, parseCheckpoint, rewrittenIndexName, type Checkpoint } from '../../core/cadb/layout.js';
import { readJournal, type JournalEnd } from './journal-files.js';
import { cannotRead, readOptional } from './read-optional.js';

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

/** Read in pieces: index.txt of a large CA is a hundred MB that need not be in memory at once. */
const INDEX_PIECE = 8 * 1024 * 1024;
/** A little less than the bytes of a short index line: room enough without regrowing. */
const BYTES_PER_LINE_ESTIMATE = 64;
/** A checkpoint that moves while revoke-cert reads is read again, this often at most. */
const READ_ATTEMPTS = 5;

/** Loads the index file up to `length` bytes; returns the number of malformed lines. */
function loadIndexFile(db: CaDatabase, path: string, length: number): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (length > 0) throw new EtokenError(ExitCode.software, `${path} is missing, but the checkpoint says it holds ${length} bytes`);
      return 0;
    }
    throw cannotRead(path, e);
  }
  db.reserve(Math.ceil(length / BYTES_PER_LINE_ESTIMATE), length);
  let bad = 0;
  let loaded = 0;
  try {
    let piece = Buffer.alloc(Math.min(INDEX_PIECE, Math.max(length, 1)));
    let carried = 0;
    for (let offset = 0; offset < length; ) {
      if (carried === piece.length) piece = Buffer.concat([piece, Buffer.alloc(piece.length)]);
      const n = readSync(fd, piece, carried, Math.min(piece.length - carried, length - offset), offset);
      if (n === 0) break;
      offset += n;
      loaded = offset;
      const done = db.loadIndex(piece.subarray(0, carried + n));
      bad += done.bad;
      carried = carried + n - done.consumed;
      piece.copy(piece, 0, done.consumed, done.consumed + carried);
    }
    // A last line without its newline is still a line.
    if (carried > 0) bad += db.loadIndex(Buffer.concat([piece.subarray(0, carried), Buffer.from('\n')])).bad;
  } catch (e) {
    throw cannotRead(path, e);
  } finally {
    closeSync(fd);
  }
  if (loaded < length) throw new EtokenError(ExitCode.software, `${path} has ${loaded} bytes, but the checkpoint says it holds ${length}`);
  return bad;
}

function readCheckpointText(path: string): string | null {
  return readOptional(path)?.toString('utf8') ?? null;
}

/** Record types that may change a row's index line. */
const CHANGES_ROWS = new Set(['issue', 'withhold', 'revoke', 'import']);

function loadOnce(caDir: string, checkpointText: string | null, options: LoadOptions): LoadedDatabase {
  const layout = caLayout(caDir);
  const checkpoint = checkpointText === null ? EMPTY_CHECKPOINT : parseCheckpoint(checkpointText);
  if (!checkpoint) throw new EtokenError(ExitCode.software, `${layout.checkpoint} is corrupt`);
  const rewritten = join(layout.dir, rewrittenIndexName(checkpoint.generation));
  const indexFile = checkpoint.generation > 0 && existsSync(rewritten) ? rewritten : layout.index;

  const db = new CaDatabase();
  const bad = loadIndexFile(db, indexFile, checkpoint.indexBytes);
  if (bad > 0) throw new EtokenError(ExitCode.software, `${indexFile}: ${bad} malformed line(s) before the checkpoint`);
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

/**
 * The database as the files hold it. A reader beside the running server
 * (revoke-cert) may see a checkpoint land while it reads, and the index file
 * switched under it: it reads again until the checkpoint is the same before
 * and after.
 */
export function loadCaDatabase(caDir: string, options: LoadOptions = {}): LoadedDatabase {
  const path = caLayout(caDir).checkpoint;
  for (let attempt = 1; ; attempt++) {
    const before = readCheckpointText(path);
    try {
      const loaded = loadOnce(caDir, before, options);
      if (attempt >= READ_ATTEMPTS || readCheckpointText(path) === before) return loaded;
    } catch (e) {
      if (attempt >= READ_ATTEMPTS || readCheckpointText(path) === before) throw e;
    }
  }
}
