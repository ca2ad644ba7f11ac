/**
 * What a test can see of processes from /proc: a process tree with start
 * times (to tell a restarted process from the same one), listening sockets
 * (machine-wide and per process), open descriptors and credentials.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { startTimeFromStat } from '@etoken-ca/contract/core/spool';

export interface ProcessFacts {
  readonly pid: number;
  readonly ppid: number;
  readonly startTime: string;
  readonly command: string;
}

function factsOf(pid: number): ProcessFacts | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
    return { pid, ppid, startTime: startTimeFromStat(stat) ?? '', command };
  } catch {
    return null;
  }
}

/** `root` and every process below it. */
export function processTree(root: number): ProcessFacts[] {
  const all = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map((n) => factsOf(Number(n))).filter((p): p is ProcessFacts => p !== null);
  const tree: ProcessFacts[] = [];
  const visit = (pid: number): void => {
    const self = all.find((p) => p.pid === pid);
    if (self) tree.push(self);
    for (const child of all.filter((p) => p.ppid === pid)) visit(child.pid);
  };
  visit(root);
  return tree;
}

/** Whether the same process (pid and start time) still runs. */
export function stillRunning(p: ProcessFacts): boolean {
  return factsOf(p.pid)?.startTime === p.startTime;
}

/** Socket inodes of every listening TCP socket on the machine, IPv4 and IPv6. */
export function listeningSockets(): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** What each descriptor of a process points at (readlink of /proc/PID/fd/N). */
export function descriptors(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.set(Number(name), readlinkSync(`/proc/${pid}/fd/${name}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** A field of /proc/PID/status, e.g. Uid or Groups. */
export function statusField(pid: number, field: string): string {
  return new RegExp(`^${field}:[ \\t]*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1]?.trim() ?? '';
}

/** A process that is not dumpable has its /proc directory owned by root. */
export function dumpable(pid: number): boolean {
  return statSync(`/proc/${pid}/stat`).uid !== 0;
}
