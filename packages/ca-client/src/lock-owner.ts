/** This process as a lock target: pid and start time, so the server can tell a live client from a reused pid. */
import { readFileSync } from 'node:fs';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { formatLockTarget, startTimeFromStat } from '@etoken-ca/contract/core/spool';

export function ownLockTarget(): string {
  let startTime: string | null = null;
  try {
    startTime = startTimeFromStat(readFileSync('/proc/self/stat', 'latin1'));
  } catch {
    // Reported below: the server needs the start time to recover locks safely.
  }
  if (!startTime) throw new EtokenError(ExitCode.software, 'cannot read this process start time from /proc/self/stat');
  return formatLockTarget({ pid: process.pid, startTime });
}
