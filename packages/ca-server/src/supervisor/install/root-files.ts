/**
 * Root-owned files and directories, written so that a second run can tell
 * "already so" from "changed": each helper compares first and says what it
 * did. Files are replaced with the contract's writeFileAtomic (owned and
 * moded through the descriptor, flushed, renamed into place).
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '@etoken-ca/contract/io/atomic-file';

export type Change = 'created' | 'updated' | 'unchanged' | 'removed' | 'absent';

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export const ROOT: Owner = { uid: 0, gid: 0 };

function sameFile(path: string, content: Buffer, mode: number): boolean | null {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return null;
  if (!st.isFile() || st.uid !== 0 || st.gid !== 0 || (st.mode & 0o7777) !== mode || st.size !== content.length) return false;
  return readFileSync(path).equals(content);
}

/** Writes a root-owned file unless it already has this content and mode. */
export function putRootFile(path: string, content: Buffer | string, mode: number, dryRun: boolean): Change {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  const same = sameFile(path, bytes, mode);
  if (same === true) return 'unchanged';
  if (!dryRun) {
    putRootDir(dirname(path), 0o755, false, true);
    writeFileAtomic(path, bytes, { mode, owner: { uid: 0, gid: 0 }, tempPath: join(dirname(path), `.${basename(path)}.tmp`) });
  }
  return same === null ? 'created' : 'updated';
}

/**
 * Makes a directory with this owner and mode (missing parents root-owned
 * 0755). An existing one is fixed through its descriptor, unless
 * `keepExisting` says an operator's choice of mode is theirs to make.
 */
export function putRootDir(path: string, mode: number, dryRun: boolean, keepExisting = false, owner: Owner = ROOT): Change {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new Error(`${path} exists and is not a directory`);
  if (st && (keepExisting || (st.uid === owner.uid && st.gid === owner.gid && (st.mode & 0o7777) === mode))) return 'unchanged';
  if (dryRun) return st ? 'updated' : 'created';
  if (!st) {
    putRootDir(dirname(path), 0o755, false, true);
    mkdirSync(path, { mode: 0o700 });
  }
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    if (!fstatSync(fd).isDirectory()) throw new Error(`${path} is not a directory`);
    fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
  return st ? 'updated' : 'created';
}

export function removeFile(path: string, dryRun: boolean): Change {
  if (!lstatSync(path, { throwIfNoEntry: false })) return 'absent';
  if (!dryRun) unlinkSync(path);
  return 'removed';
}

export function removeTree(path: string, dryRun: boolean): Change {
  if (!lstatSync(path, { throwIfNoEntry: false })) return 'absent';
  if (!dryRun) rmSync(path, { recursive: true });
  return 'removed';
}
