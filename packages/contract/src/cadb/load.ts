/**
 * Loads the CA database from disk, read-only: index.txt as of the last
 * checkpoint, then every journal record after it. Used by the server at
 * start-up and by revoke-cert; the server alone writes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtokenError, ExitCode } from '../exit-codes.js';
import { CaDatabase } from './database.js';
import { decodeJournal, type JournalRecord } from './journal.js';
import { caLayout, EMPTY_CHECKPOINT, parseCheckpoint, parseSegmentName, type Checkpoint } from './layout.js';

export interface LoadedDatabase {
  readonly db: CaDatabase;
  readonly checkpoint: Checkpoint;
  /** Records after the checkpoint, already applied to db. */
  readonly replayed: readonly JournalRecord[];
  /** Where the valid journal ends; bytes after it (a torn tail) are not part of it. */
  readonly end: { readonly segment: number; readonly offset: number; readonly tornBytes: number };
}

function readOptional(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new EtokenError(ExitCode.unavailable, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code}`);
  }
}

export function loadCaDatabase(caDir: string): LoadedDatabase {
  const layout = caLayout(caDir);
  const checkpointText = readOptional(layout.checkpoint);
  const checkpoint = checkpointText ? parseCheckpoint(checkpointText.toString('utf8')) : EMPTY_CHECKPOINT;
  if (!checkpoint) throw new EtokenError(ExitCode.software, `${layout.checkpoint} is corrupt`);

  const db = new CaDatabase();
  const index = readOptional(layout.index);
  if (index) {
    const bad = db.loadIndex(index.subarray(0, checkpoint.indexBytes).toString('utf8'));
    if (bad > 0) throw new EtokenError(ExitCode.software, `${layout.index}: ${bad} malformed line(s) before the checkpoint`);
  }
  db.setCrlState(checkpoint.crl);

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
    const bytes = readFileSync(join(layout.journal, `${String(segment).padStart(8, '0')}.jnl`));
    const from = segment === checkpoint.segment ? checkpoint.offset : 0;
    const { records, validBytes } = decodeJournal(bytes.subarray(from));
    for (const r of records) {
      db.apply(r);
      replayed.push(r);
    }
    end = { segment, offset: from + validBytes, tornBytes: bytes.length - from - validBytes };
    if (end.tornBytes > 0) break;
  }
  return { db, checkpoint, replayed, end };
}
