/**
 * Is the process named by the pid file really etoken-ca-server? Only then
 * may it get SIGUSR1: a stale pid file can name any process by now, and
 * SIGUSR1 kills most programs (and opens a debugger in a Node one without a
 * listener). The facts come from /proc; the decision is pure.
 */
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { startTimeFromStat } from '@etoken-ca/contract/core/spool';

export interface ProcessFacts {
  /** Target of /proc/PID/exe. */
  readonly exe: string;
  /** /proc/PID/cmdline, split at NUL. */
  readonly argv: readonly string[];
  readonly uid: number;
  /** When the process started, ms since the epoch. */
  readonly startedAt: number;
}

export const SERVER_NAME = 'etoken-ca-server';
/** Clock ticks and the pid file's mtime are coarse: allow this much. */
const START_SLACK_MS = 1000;

/** Null when it is the server; otherwise why not. */
export function whyNotServer(facts: ProcessFacts, pidFileWrittenAt: number): string | null {
  if (!/^node(js)?(\d+(\.\d+)*)?$/.test(basename(facts.exe))) return `runs ${facts.exe}, not node`;
  // The script node runs is its first argument that is not an option.
  const script = facts.argv.slice(1).find((arg) => !arg.startsWith('-'));
  if (!script || basename(script).replace(/\.js$/, '') !== SERVER_NAME) return `is not ${SERVER_NAME}`;
  if (facts.uid !== 0) return 'does not run as root';
  if (pidFileWrittenAt + START_SLACK_MS < facts.startedAt) return 'started after the pid file was written (the pid file is stale)';
  return null;
}

const CLOCK_TICKS_PER_SECOND = 100;

function bootTime(): number {
  const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'));
  if (!m) throw new Error('no btime in /proc/stat');
  return Number(m[1]) * 1000;
}

/** The facts of a live process, or null when there is none (or it is gone mid-way). */
export function processFacts(pid: number): ProcessFacts | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const ticks = startTimeFromStat(stat);
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    if (ticks === null || !uid) return null;
    return {
      exe: readlinkSync(`/proc/${pid}/exe`),
      argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== ''),
      uid: Number(uid[1]),
      startedAt: bootTime() + (Number(ticks) * 1000) / CLOCK_TICKS_PER_SECOND,
    };
  } catch {
    return null;
  }
}

export type ServerLookup = { readonly running: true; readonly pid: number } | { readonly running: false; readonly why: string };

export function findServer(pidFile: string): ServerLookup {
  let text: string;
  let writtenAt: number;
  try {
    text = readFileSync(pidFile, 'latin1');
    writtenAt = statSync(pidFile).mtimeMs;
  } catch (e) {
    return { running: false, why: `no pid file ${pidFile} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})` };
  }
  const m = /^([1-9]\d{0,9})\n?$/.exec(text);
  if (!m) return { running: false, why: `${pidFile} does not hold a pid` };
  const pid = Number(m[1]);
  const facts = processFacts(pid);
  if (!facts) return { running: false, why: `process ${pid} from ${pidFile} is not running` };
  const why = whyNotServer(facts, writtenAt);
  return why ? { running: false, why: `process ${pid} from ${pidFile} ${why}` } : { running: true, pid };
}
