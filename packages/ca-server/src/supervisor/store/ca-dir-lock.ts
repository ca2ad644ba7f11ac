/**
 * One writer per CA directory: CA_DIR/server.lock is a symlink naming the
 * process that writes it (pid and start time, as a spool lock names its
 * client), made by whoever runs the server or an import there. A second
 * writer would append to the same journal and rewrite index.txt from a view
 * that lacks the other's records. A lock whose process is gone (a crash,
 * kill -9) is taken over. The directory is root's alone (the self-audit), so
 * only root can make or remove the lock.
 */
import { mkdirSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { caLayout } from '@etoken-ca/contract/core/cadb/layout';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { parseLockTarget } from '@etoken-ca/contract/core/spool';
import { ownLockTarget } from '@etoken-ca/contract/io/spool-files';
import { lockOwnerAlive } from '../proc.js';

/** Takes the CA directory for this process (creating the directory if needed); returns its release. */
export function lockCaDirectory(caDir: string): () => void {
  const layout = caLayout(caDir);
  mkdirSync(layout.dir, { recursive: true, mode: 0o700 });
  const mine = ownLockTarget();
  const path = layout.serverLock;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      symlinkSync(mine, path);
      return () => release(path, mine);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotLock(path, e);
    }
    const holder = readHolder(path);
    if (holder === null) continue; // removed meanwhile
    const owner = parseLockTarget(holder);
    // A lock naming this very process was left before a reboot that gave it the same pid and start time.
    if (owner && holder !== mine && lockOwnerAlive(owner.pid, owner.startTime, 0)) {
      throw new EtokenError(ExitCode.tempFail, `${caDir} is in use by another etoken-ca-server or import (pid ${owner.pid}, ${path}); not starting a second writer`);
    }
    takeOver(path, holder);
  }
  throw new EtokenError(ExitCode.tempFail, `${path}: could not take the lock (it kept changing)`);
}

function readHolder(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Not a symlink, or unreadable: something other than a lock is there, for the operator to look at.
    throw cannotLock(path, e);
  }
}

/**
 * Moves a stale lock aside under a name of this process, and puts back what it moved if that turns out not to be
 * the stale lock it read (another process took it over in between): never removes a live writer's lock.
 */
function takeOver(path: string, stale: string): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw cannotLock(path, e);
  }
  if (readHolder(aside) === stale) unlinkSync(aside);
  else renameSync(aside, path);
}

function release(path: string, mine: string): void {
  try {
    if (readlinkSync(path) === mine) unlinkSync(path);
  } catch {
    // Gone already: nothing of ours to remove.
  }
}

function cannotLock(path: string, e: unknown): EtokenError {
  return new EtokenError(ExitCode.cantCreate, `${path}: cannot take the CA directory's lock: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
}
