/**
 * Who may change a path: the rules of the self-audit, on lstat facts. Pure.
 * Code, configuration and CA state must be changeable by root alone: owned
 * by root, not group- or world-writable. A parent directory may also be
 * sticky and world-writable like /tmp, where others cannot rename or remove
 * root's entries.
 */
import { dirname } from 'node:path';

export interface PathFacts {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  readonly uid: number;
  readonly gid: number;
  /** Permission bits, with setuid/setgid/sticky. */
  readonly mode: number;
}

const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

/** Why others than root could change this path, or null. */
export function rootOnlyProblem(f: PathFacts, asParent: boolean): string | null {
  if (f.type === 'symlink') return asParent ? `${f.path}: is a symlink (a parent directory must be a real directory)` : null;
  if (f.uid !== 0) return `${f.path}: owned by uid ${f.uid}, not root`;
  const sticky = asParent && f.type === 'dir' && (f.mode & 0o1000) !== 0;
  if ((f.mode & 0o002) !== 0 && !sticky) return `${f.path}: world-writable (mode ${octal(f.mode)})`;
  if ((f.mode & 0o020) !== 0 && !sticky) return `${f.path}: group-writable (mode ${octal(f.mode)})`;
  return null;
}

/** Why the unprivileged accounts (signer, parser, MyProxy) cannot read this file, or null. */
export function othersCannotRead(f: PathFacts): string | null {
  return (f.mode & 0o004) !== 0 ? null : `${f.path}: not readable by the unprivileged accounts (mode ${octal(f.mode)}, needs o+r)`;
}

/** Why the unprivileged accounts cannot pass through this directory, or null. */
export function othersCannotEnter(f: PathFacts): string | null {
  return (f.mode & 0o001) !== 0 ? null : `${f.path}: the unprivileged accounts cannot enter it (mode ${octal(f.mode)}, needs o+x)`;
}

/** Exact owner and mode, as the design sets them (the spool). */
export function exactProblem(f: PathFacts, uid: number, gid: number, mode: number): string | null {
  if (f.type !== 'dir') return `${f.path}: not a directory`;
  if (f.uid !== uid || f.gid !== gid) return `${f.path}: owned by ${f.uid}:${f.gid}, expected ${uid}:${gid}`;
  if ((f.mode & 0o7777) !== mode) return `${f.path}: mode ${octal(f.mode & 0o7777)}, expected ${octal(mode)}`;
  return null;
}

/** The directories above a path, nearest first, ending with '/'. */
export function parentsOf(path: string): string[] {
  const out: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    out.push(dir);
    if (dir === dirname(dir)) return out;
  }
}
