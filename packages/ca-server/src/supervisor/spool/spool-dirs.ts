/**
 * Creates and checks the spool directories. Ownership and modes are fixed
 * with fchown/fchmod on descriptors, never by path: the client group can
 * write in incoming/. The parents must be root-owned and not writable by
 * others, or whoever can write there could swap the spool under us.
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { ANSWERS_MODE, INCOMING_MODE, spoolLayout, type SpoolLayout } from '@etoken-ca/contract/core/spool';

function ensureDir(path: string, uid: number, gid: number, mode: number): void {
  // mkdir is by path, but the directory is then checked and fixed through its descriptor.
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const st = fstatSync(fd);
    if (!st.isDirectory()) throw new EtokenError(ExitCode.config, `${path} is not a directory`);
    if (st.uid !== uid) throw new EtokenError(ExitCode.config, `${path} is owned by uid ${st.uid}, not ${uid}: refusing to use it`);
    if (st.gid !== gid) fchownSync(fd, uid, gid);
    if ((st.mode & 0o7777) !== mode) fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/**
 * Every parent of the spool root up to / must be root-owned and writable by
 * root only, or sticky (like /tmp: others cannot rename or remove root's entries).
 */
export function checkParents(path: string): void {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) throw new EtokenError(ExitCode.config, `${dir}: a parent of the spool is a symlink`);
    if (st.uid !== 0 || ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0)) {
      throw new EtokenError(ExitCode.config, `${dir}: a parent of the spool must be root-owned and writable by root only`);
    }
    if (dir === '/') return;
  }
}

export function prepareSpool(spoolDir: string, clientGid: number): SpoolLayout {
  const layout = spoolLayout(spoolDir);
  mkdirSync(dirname(spoolDir), { recursive: true, mode: 0o755 });
  checkParents(spoolDir);
  ensureDir(layout.root, 0, 0, 0o755);
  ensureDir(layout.incoming, 0, clientGid, INCOMING_MODE);
  ensureDir(layout.answers, 0, clientGid, ANSWERS_MODE);
  return layout;
}
