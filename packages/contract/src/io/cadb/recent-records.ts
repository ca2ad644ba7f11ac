/**
 * What the journal holds just before the last checkpoint, read backwards from
 * it in one pass:
 * - request outcomes: index.txt carries the certificates past a checkpoint
 *   but not which request each one answered, so a request finished just
 *   before a checkpoint (or a restart, which checkpoints) would otherwise be
 *   signed again when its client, still waiting, is seen once more;
 * - the certificates issued in the last minutes: their newcerts/ files are
 *   written without a flush, and the machine may have lost power before
 *   writing them back, after a checkpoint had already put their records out
 *   of replay.
 */
import { join } from 'node:path';
import type { CaDatabase } from '../../core/cadb/database.js';
import { decodeJournal, type JournalRecord } from '../../core/cadb/journal.js';
import { segmentName, type CaLayout, type Checkpoint } from '../../core/cadb/layout.js';
import { readOptional } from './read-optional.js';

export interface RecentRecall {
  /** Recall request outcomes recorded since this time (ms) into the database. */
  readonly outcomesSince?: number;
  /** Return the certificates issued within this many ms before the checkpoint's newest record. */
  readonly certificatesWithin?: number;
}

export interface RecordedCertificate {
  readonly serial: string;
  /** DER, base64. */
  readonly der: string;
}

/** The certificate an issue record carries. */
export function issuedCertificate(record: JournalRecord): RecordedCertificate | null {
  return record.t === 'issue' ? { serial: record.serial, der: record.der } : null;
}

/** Newest first; stops at the first record older than both limits (reads nothing when neither is asked for). */
export function recallBeforeCheckpoint(db: CaDatabase, layout: CaLayout, checkpoint: Checkpoint, recall: RecentRecall): RecordedCertificate[] {
  const certificates: RecordedCertificate[] = [];
  if (recall.outcomesSince === undefined && recall.certificatesWithin === undefined) return certificates;
  let certificatesSince: number | undefined;
  for (let segment = checkpoint.segment; segment >= 1; segment--) {
    const bytes = readOptional(join(layout.journal, segmentName(segment)));
    if (!bytes) break;
    const before = segment === checkpoint.segment ? bytes.subarray(0, checkpoint.offset) : bytes;
    const { records } = decodeJournal(before);
    for (let i = records.length - 1; i >= 0; i--) {
      const record = records[i]!;
      if (recall.certificatesWithin !== undefined) certificatesSince ??= record.at - recall.certificatesWithin;
      const outcome = recall.outcomesSince !== undefined && record.at >= recall.outcomesSince;
      const certificate = certificatesSince !== undefined && record.at >= certificatesSince;
      if (!outcome && !certificate) return certificates;
      // recallOutcome keeps the first outcome it sees for a request: the newest.
      if (outcome) db.recallOutcome(record);
      const carried = certificate ? issuedCertificate(record) : null;
      if (carried) certificates.push(carried);
    }
  }
  return certificates;
}
