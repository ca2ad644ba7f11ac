/** How full a path's filesystem is, as df reports it (space available to root; inodes). */
import { statfsSync } from 'node:fs';
import type { DiskUsage } from './alert-rules.js';

const percent = (used: number, total: number): number => (total > 0 ? Math.ceil((used * 100) / total) : 0);

export function diskUsage(path: string): DiskUsage | null {
  try {
    const s = statfsSync(path);
    const usedBlocks = s.blocks - s.bfree;
    return { path, blocksPercent: percent(usedBlocks, usedBlocks + s.bavail), inodesPercent: percent(s.files - s.ffree, s.files) };
  } catch {
    return null;
  }
}
