/** Facts about processes and accounts, read from /proc and NSS. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startTimeFromStat } from '@etoken-ca/contract/core/spool';
import type { Account } from '../launch/account.js';

/** Start time (clock ticks since boot) of a live process, or null when there is none. */
export function processStartTime(pid: number): string | null {
  try {
    return startTimeFromStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return null;
  }
}

/** Real uid of a live process, or null. */
export function processUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

let boot: { readAtMs: number; bootMs: number } | null = null;

/**
 * Wall-clock ms at which a process with this start time (clock ticks since boot, as in /proc/PID/stat)
 * started, or null when /proc/uptime cannot be read. USER_HZ is 100 on Linux.
 */
export function processStartedAtMs(startTime: string): number | null {
  const now = Date.now();
  if (!boot || now - boot.readAtMs > 10_000) {
    try {
      const uptime = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
      if (!Number.isFinite(uptime)) return null;
      boot = { readAtMs: now, bootMs: now - uptime * 1000 };
    } catch {
      return null;
    }
  }
  return boot.bootMs + Number(startTime) * 10;
}

/** True when the process that made a lock still runs: same pid, same start time, same uid. */
export function lockOwnerAlive(pid: number, startTime: string, uid: number): boolean {
  return processStartTime(pid) === startTime && processUid(pid) === uid;
}

export type { Account } from '../launch/account.js';

/** Looks a user up through NSS (getent), so LDAP or sssd accounts work as local ones do. */
export function lookupUser(name: string): Account | null {
  try {
    const fields = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    return { name, uid: Number(fields[2]), gid: Number(fields[3]) };
  } catch {
    return null;
  }
}

export function lookupGroup(name: string): number | null {
  try {
    return Number(execFileSync('getent', ['group', name], { encoding: 'utf8' }).trim().split(':')[2]);
  } catch {
    return null;
  }
}
