/** done/ keeps processed entries long enough for revoke-cert to read its CRL number, then they go. */
import { lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueLayout } from '@etoken-ca/contract/io/revocation-queue-dir';

export function pruneDoneEntries(layout: QueueLayout, olderThan: number): number {
  let removed = 0;
  for (const name of readdirSync(layout.done)) {
    const path = join(layout.done, name);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st || st.mtimeMs >= olderThan) continue;
    try {
      unlinkSync(path);
      removed++;
    } catch {
      // gone already
    }
  }
  return removed;
}
