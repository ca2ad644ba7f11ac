/**
 * System accounts the tests run programs as (myproxy, myproxy2, causer, caparse), and
 * handing files to them. Tests run as root; test/setup.sh creates the accounts.
 */
import { chmodSync, chownSync, readFileSync } from 'node:fs';

export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  /** Primary group. */
  readonly gid: number;
}

/** Looks a user up in /etc/passwd. */
export function findSystemUser(name: string): SystemUser | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return null;
}

/** Like findSystemUser, but a missing user is an error that names test/setup.sh. */
export function systemUser(name: string): SystemUser {
  const user = findSystemUser(name);
  if (!user) throw new Error(`no system user "${name}": run test/setup.sh as root first`);
  return user;
}

/** Makes `path` belong to `user` (and its primary group) with `mode`. */
export function giveTo(path: string, user: SystemUser, mode: number): void {
  chownSync(path, user.uid, user.gid);
  chmodSync(path, mode);
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
