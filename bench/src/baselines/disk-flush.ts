/** One fdatasync after a journal-sized append, on the file system the CA directory is on. */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { median, timeRuns } from '../stats.js';

const RECORD_BYTES = 2500;

export function diskFlushMs(onDir: string, runs: number): number {
  const dir = mkdtempSync(join(onDir, 'flush-'));
  const fd = openSync(join(dir, 'journal'), 'a');
  try {
    const record = Buffer.alloc(RECORD_BYTES, 0x61);
    return median(
      timeRuns(runs, () => {
        writeSync(fd, record);
        fdatasyncSync(fd);
      }),
    );
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}
