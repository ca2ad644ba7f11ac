/**
 * Seeds an etoken-ca CA directory with a large synthetic database: index.txt
 * plus a checkpoint saying the index is complete and the journal starts
 * empty, which is what the server leaves behind after a checkpoint.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { caLayout, EMPTY_CHECKPOINT, type Checkpoint } from '@etoken-ca/contract/core/cadb/layout';
import { writeSyntheticIndex, type SyntheticIndex } from './synthetic-index.js';

export function seedCaDir(caDir: string, spec: SyntheticIndex): void {
  const layout = caLayout(caDir);
  for (const dir of [layout.dir, layout.newcerts, layout.journal, layout.crl]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(layout.indexAttr, 'unique_subject = no\n');
  const indexBytes = writeSyntheticIndex(layout.index, spec);
  const checkpoint: Checkpoint = { ...EMPTY_CHECKPOINT, indexBytes };
  writeFileSync(layout.checkpoint, `${JSON.stringify(checkpoint)}\n`, { mode: 0o600 });
}
