/**
 * Reading the CA directory as of one checkpoint, beside the running server:
 * a checkpoint may land while a reader reads, and switch the index file
 * under it, so the reader reads again until the checkpoint is the same
 * before and after.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EtokenError, ExitCode } from '../../core/exit-codes.js';
import { caLayout, EMPTY_CHECKPOINT, parseCheckpoint, rewrittenIndexName, type CaLayout, type Checkpoint } from '../../core/cadb/layout.js';
import { readOptional } from './read-optional.js';

export interface CheckpointedFiles {
  readonly layout: CaLayout;
  readonly checkpoint: Checkpoint;
  /** The index file to read: index.txt, or the one the checkpoint rewrote while it is not renamed yet. */
  readonly indexFile: string;
}

/** A checkpoint that moves while a reader reads is read again, this often at most. */
const READ_ATTEMPTS = 5;

const readCheckpointText = (path: string): string | null => readOptional(path)?.toString('utf8') ?? null;

function filesOf(layout: CaLayout, checkpointText: string | null): CheckpointedFiles {
  const checkpoint = checkpointText === null ? EMPTY_CHECKPOINT : parseCheckpoint(checkpointText);
  if (!checkpoint) throw new EtokenError(ExitCode.software, `${layout.checkpoint} is corrupt`);
  const rewritten = join(layout.dir, rewrittenIndexName(checkpoint.generation));
  const indexFile = checkpoint.generation > 0 && existsSync(rewritten) ? rewritten : layout.index;
  return { layout, checkpoint, indexFile };
}

/** What `read` makes of the files as of one checkpoint. */
export function readAsOfCheckpoint<T>(caDir: string, read: (files: CheckpointedFiles) => T): T {
  const layout = caLayout(caDir);
  for (let attempt = 1; ; attempt++) {
    const before = readCheckpointText(layout.checkpoint);
    try {
      const result = read(filesOf(layout, before));
      if (attempt >= READ_ATTEMPTS || readCheckpointText(layout.checkpoint) === before) return result;
    } catch (e) {
      if (attempt >= READ_ATTEMPTS || readCheckpointText(layout.checkpoint) === before) throw e;
    }
  }
}
