/** lstat as the path rules want it: never follows a symlink, null when there is nothing. */
import { lstatSync } from 'node:fs';
import type { PathFacts } from './path-rules.js';

export function factsOf(path: string): PathFacts | null {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return null;
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  return { path, type, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
}
