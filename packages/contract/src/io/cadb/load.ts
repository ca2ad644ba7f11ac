/**
 * Loads the CA database from disk, read-only: index.txt as of the last
 * checkpoint, then every journal record after it. Used by the server at
 * start-up and by revoke-cert; the server alone writes.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { EtokenError, ExitCode } from '../../core/exit-codes.js';
import { CaDatabase } from '../../core/cadb/database.js';
import { decodeJournal, type JournalRecord } from '../../core/cadb/journal.js';
import { cannotRead, readOptional } from './read-optional.js';
import { recallBeforeCheckpoint, type RecentRecall, type RecordedCertificate } from './recent-records.js';
import { caLayout, EMPTY_CHECKPOINT, parseCheckpoint, parseSegmentName, segmentName, type Checkpoint } from '../../core/cadb/layout.js';

export interface LoadedDatabase {
  readonly db: CaDatabase;
  readonly checkpoint: Checkpoint;
  /** Records after the checkpoint, already applied to db. */
  readonly replayed: readonly JournalRecord[];
  /** Where the valid journal ends; bytes after it (a torn tail) are not part of it. */
  readonly end: { readonly segment: number; readonly offset: number; readonly tornBytes: number };
  /** The certificates recorded shortly before the checkpoint (LoadOptions.certificatesWithin), newest first. */
  readonly recentCertificates: readonly RecordedCertificate[];
}

/** Read in pieces: index.txt of a large CA is a hundred MB that need not be in memory at once. */
const INDEX_PIECE = 8 * 1024 * 1024;
/** A little less than the bytes of a short index line: room enough without regrowing. */
const BYTES_PER_LINE_ESTIMATE = 64;

/** Loads index.txt up to `length` bytes; returns the number of malformed lines. */
function loadIndexFile(db: CaDatabase, path: string, length: number): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw cannotRead(path, e);
  }
  db.reserve(Math.ceil(length / BYTES_PER_LINE_ESTIMATE), length);
  let bad = 0;
  try {
    let piece = Buffer.alloc(INDEX_PIECE);
    let carried = 0;
    for (let offset = 0; offset < length; ) {
      if (carried === piece.length) piece = Buffer.concat([piece, Buffer.alloc(piece.length)]);
      const n = readSync(fd, piece, carried, Math.min(piece.length - carried, length - offset), offset);
      if (n === 0) break;
      offset += n;
      const loaded = db.loadIndex(piece.subarray(0, carried + n));
      bad += loaded.bad;
      carried = carried + n - loaded.consumed;
      piece.copy(piece, 0, loaded.consumed, loaded.consumed + carried);
    }
    // A last line without its newline is still a line.
    if (carried > 0) bad += db.loadIndex(Buffer.concat([piece.subarray(0, carried), Buffer.from('\n')])).bad;
  } catch (e) {
    throw cannotRead(path, e);
  } finally {
    closeSync(fd);
  }
  return bad;
}

/** outcomesSince: the server's idempotent answers; certificatesWithin: its check of newcerts/ at start-up. */
export type LoadOptions = RecentRecall;

export function loadCaDatabase(caDir: string, options: LoadOptions = {}): LoadedDatabase {
  const layout = caLayout(caDir);
  const checkpointText = readOptional(layout.checkpoint);
  const checkpoint = checkpointText ? parseCheckpoint(checkpointText.toString('utf8')) : EMPTY_CHECKPOINT;
  if (!checkpoint) throw new EtokenError(ExitCode.software, `${layout.checkpoint} is corrupt`);

  const db = new CaDatabase();
  const bad = loadIndexFile(db, layout.index, checkpoint.indexBytes);
  if (bad > 0) throw new EtokenError(ExitCode.software, `${layout.index}: ${bad} malformed line(s) before the checkpoint`);
  db.setCrlState(checkpoint.crl);
  const recentCertificates = recallBeforeCheckpoint(db, layout, checkpoint, options);

  let segments: number[] = [];
  try {
    segments = readdirSync(layout.journal)
      .map(parseSegmentName)
      .filter((n): n is number => n !== null && n >= checkpoint.segment)
      .sort((a, b) => a - b);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const replayed: JournalRecord[] = [];
  let end = { segment: checkpoint.segment, offset: checkpoint.offset, tornBytes: 0 };
  for (const segment of segments) {
    const bytes = readFileSync(join(layout.journal, segmentName(segment)));
    const from = segment === checkpoint.segment ? checkpoint.offset : 0;
    const { records, validBytes } = decodeJournal(bytes.subarray(from));
    for (const r of records) {
      db.apply(r);
      replayed.push(r);
    }
    end = { segment, offset: from + validBytes, tornBytes: bytes.length - from - validBytes };
    if (end.tornBytes > 0) break;
  }
  return { db, checkpoint, replayed, end, recentCertificates };
}
