/**
 * Puts the runtime files into the code directory, root-owned, directories
 * 0755 and files 0644 (0755 when executable), and removes files a previous
 * version left that are no longer part of it.
 */
import { lstatSync, readdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { putRootDir, putRootFile, type Change } from './root-files.js';
import type { RuntimeFile } from './runtime-files.js';

export interface CodeSyncReport {
  readonly directory: Change;
  readonly written: number;
  readonly removed: number;
  readonly unchanged: number;
}

function listTree(dir: string, out: { files: string[]; dirs: string[] }): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, entry.name);
    if (entry.isDirectory()) {
      listTree(abs, out);
      out.dirs.push(abs);
    } else out.files.push(abs);
  }
}

export function syncCode(codeDir: string, files: readonly RuntimeFile[], dryRun: boolean): CodeSyncReport {
  let written = 0;
  let unchanged = 0;
  const wanted = new Set(files.map((f) => f.rel));
  const dirChange = putRootDir(codeDir, 0o755, dryRun);
  for (const file of files) {
    const target = join(codeDir, file.rel);
    const change = putRootFile(target, readFileSync(file.source), file.executable ? 0o755 : 0o644, dryRun);
    if (change === 'unchanged') unchanged++;
    else written++;
  }
  let removed = 0;
  if (dirChange !== 'created' && lstatSync(codeDir, { throwIfNoEntry: false })) {
    const present = { files: [] as string[], dirs: [] as string[] };
    listTree(codeDir, present);
    for (const abs of present.files) {
      if (wanted.has(relative(codeDir, abs))) continue;
      removed++;
      if (!dryRun) unlinkSync(abs);
    }
    for (const dir of present.dirs) {
      if (dryRun) continue;
      if (readdirSync(dir).length === 0) rmdirSync(dir);
      else putRootDir(dir, 0o755, false);
    }
  }
  return { directory: dirChange, written, removed, unchanged };
}
