/**
 * Request outcomes recorded before the last checkpoint. index.txt carries
 * the certificates past a checkpoint but not which request each one
 * answered, so a request finished just before a checkpoint (or a restart,
 * which checkpoints) would otherwise be signed again when its client, still
 * waiting, is seen once more. Reads the journal backwards from the
 * checkpoint until records are older than `since`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaDatabase } from './database.js';
import { decodeJournal } from './journal.js';
import { segmentName, type CaLayout, type Checkpoint } from './layout.js';

function segmentBytes(layout: CaLayout, segment: number): Buffer | null {
  try {
    return readFileSync(join(layout.journal, segmentName(segment)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export function recallRecentOutcomes(db: CaDatabase, layout: CaLayout, checkpoint: Checkpoint, since: number): void {
  for (let segment = checkpoint.segment; segment >= 1; segment--) {
    const bytes = segmentBytes(layout, segment);
    if (!bytes) return;
    const before = segment === checkpoint.segment ? bytes.subarray(0, checkpoint.offset) : bytes;
    const { records } = decodeJournal(before);
    // Newest first: recallOutcome keeps the first outcome it sees for a request.
    for (let i = records.length - 1; i >= 0; i--) {
      const record = records[i]!;
      if (record.at < since) return;
      db.recallOutcome(record);
    }
  }
}
