import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { startTimeFromStat } from '@etoken-ca/contract/core/spool';
import { ownLockTarget } from '@etoken-ca/contract/io/spool-files';
import { lockCaDirectory } from './ca-dir-lock.js';

let dir: string;
let lock: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'etoken-ca-dir-lock-'));
  lock = join(dir, 'server.lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function refusal(run: () => unknown): EtokenError {
  try {
    run();
  } catch (e) {
    if (e instanceof EtokenError) return e;
    throw e;
  }
  throw new Error('not refused');
}

describe.runIf(process.getuid?.() === 0)('the CA directory lock', () => {
  it('names this process while held, and is gone once released', () => {
    const unlock = lockCaDirectory(join(dir, 'ca'));
    const held = join(dir, 'ca', 'server.lock');
    expect(readlinkSync(held)).toBe(ownLockTarget());
    unlock();
    expect(existsSync(held)).toBe(false);
  });

  it('refuses while another live root process holds it', async () => {
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      const startTime = startTimeFromStat(readFileSync(`/proc/${other.pid}/stat`, 'latin1'))!;
      symlinkSync(`${other.pid}.${startTime}`, lock);
      const second = refusal(() => lockCaDirectory(dir));
      expect(second.exitCode).toBe(ExitCode.tempFail);
      expect(second.message).toMatch(new RegExp(`in use by another etoken-ca-server or import \\(pid ${other.pid}`));
      expect(readlinkSync(lock)).toBe(`${other.pid}.${startTime}`);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over a lock naming this very process: left before a reboot that gave it the same pid and start time', () => {
    symlinkSync(ownLockTarget(), lock);
    const unlock = lockCaDirectory(dir);
    expect(readlinkSync(lock)).toBe(ownLockTarget());
    unlock();
  });

  it('takes over the lock of a process that is gone, or of a process that is not root', () => {
    symlinkSync('999999999.1', lock);
    lockCaDirectory(dir)();
    expect(lstatSync(lock, { throwIfNoEntry: false })).toBeUndefined();
    // pid 1 with another start time: a reused pid, not the writer that made the lock.
    symlinkSync('1.99999999999999999999', lock);
    lockCaDirectory(dir)();
    symlinkSync('not a lock', lock);
    lockCaDirectory(dir)();
    expect(existsSync(join(dir, `server.lock.stale-${process.pid}`))).toBe(false);
  });

  it('leaves a lock it did not make alone when released', () => {
    const unlock = lockCaDirectory(dir);
    rmSync(lock);
    symlinkSync('999999999.1', lock);
    unlock();
    expect(readlinkSync(lock)).toBe('999999999.1');
  });

  it('refuses, without removing it, something other than a lock at its name', () => {
    writeFileSync(lock, 'operator notes');
    const refused = refusal(() => lockCaDirectory(dir));
    expect(refused.exitCode).toBe(ExitCode.cantCreate);
    expect(refused.message).toMatch(/server\.lock: cannot take the CA directory's lock: EINVAL/);
    expect(existsSync(lock)).toBe(true);
  });
});
