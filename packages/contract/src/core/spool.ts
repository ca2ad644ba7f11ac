/**
 * The request spool, the only channel between the client (MyProxy account)
 * and the server (root). Modeled on Postfix's maildrop: the writer is
 * untrusted, the reader checks everything.
 *
 *   SPOOL_DIR/                root:root 0755
 *   SPOOL_DIR/incoming/       root:CLIENT_GROUP 01730  requests and locks
 *       <id>.req              the request, created O_EXCL|O_NOFOLLOW, written completely; its
 *                             mtime is when the client's CLIENT_TIMEOUT started to run
 *       <id>.lock             symlink -> "<pid>.<starttime>" of the waiting client;
 *                             creating it publishes the request (atomic)
 *   SPOOL_DIR/answers/        root:CLIENT_GROUP 0750   written only by the server
 *       <id>.answer           one JSON line (see Answer), renamed into place
 */
import { join } from 'node:path';
import { parseJsonObject } from './json-object.js';

export interface SpoolLayout {
  readonly root: string;
  readonly incoming: string;
  readonly answers: string;
}

export function spoolLayout(spoolDir: string): SpoolLayout {
  return { root: spoolDir, incoming: join(spoolDir, 'incoming'), answers: join(spoolDir, 'answers') };
}

export const INCOMING_MODE = 0o1730;
export const ANSWERS_MODE = 0o750;
export const ANSWER_FILE_MODE = 0o640;

/** Request ids: 128 random bits in lowercase hex, as the client makes them. */
export const REQUEST_ID = /^[0-9a-f]{32}$/;

export const REQUEST_SUFFIX = '.req';
export const LOCK_SUFFIX = '.lock';
export const ANSWER_SUFFIX = '.answer';

export const requestFile = (l: SpoolLayout, id: string): string => join(l.incoming, id + REQUEST_SUFFIX);
export const lockFile = (l: SpoolLayout, id: string): string => join(l.incoming, id + LOCK_SUFFIX);
export const answerFile = (l: SpoolLayout, id: string): string => join(l.answers, id + ANSWER_SUFFIX);

/** What a spool name stands for, or null for a name no client makes. */
export function classifySpoolName(name: string): { id: string; kind: 'request' | 'lock' } | null {
  const m = /^([0-9a-f]{32})\.(req|lock)$/.exec(name);
  if (!m) return null;
  return { id: m[1]!, kind: m[2] === 'req' ? 'request' : 'lock' };
}

/** The owner of a lock, written as the symlink's target: pid and start time (clock ticks since boot, /proc/PID/stat field 22). */
export interface LockOwner {
  readonly pid: number;
  readonly startTime: string;
}

export function formatLockTarget(owner: LockOwner): string {
  return `${owner.pid}.${owner.startTime}`;
}

export function parseLockTarget(target: string): LockOwner | null {
  const m = /^([1-9]\d{0,9})\.(\d{1,20})$/.exec(target);
  return m ? { pid: Number(m[1]), startTime: m[2]! } : null;
}

/** Start time of a process from the text of /proc/PID/stat; the command name may hold spaces and parentheses. */
export function startTimeFromStat(stat: string): string | null {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): field 22 is at index 19.
  const start = fields[19];
  return start && /^\d+$/.test(start) ? start : null;
}

export type Answer =
  | { readonly status: 'issued'; readonly serial: string; readonly pem: string }
  | { readonly status: 'refused'; readonly exit: number; readonly reason: string };

export function formatAnswer(answer: Answer): string {
  return `${JSON.stringify(answer)}\n`;
}

/** Parses an answer file; the client trusts the server, but not a half-read or foreign file. */
export function parseAnswer(text: string): Answer | null {
  const a = parseJsonObject(text);
  if (!a) return null;
  if (a.status === 'issued' && typeof a.pem === 'string' && typeof a.serial === 'string') {
    return { status: 'issued', serial: a.serial, pem: a.pem };
  }
  if (a.status === 'refused' && typeof a.reason === 'string' && typeof a.exit === 'number') {
    return { status: 'refused', exit: a.exit, reason: a.reason };
  }
  return null;
}
