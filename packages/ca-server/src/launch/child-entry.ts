/**
 * The entry of every Node child of the server, run as root by spawnNode:
 *   child-entry.js UID GID DESCRIPTORS SCRIPT [ARGS...]
 * Its first import guards the signals. Then it closes every descriptor it
 * was not given on purpose, drops to UID/GID with no supplementary groups
 * (a change of credentials that also makes the kernel mark the process not
 * dumpable, so no other process of that uid can ptrace it or read its
 * memory), checks that both held, and only then loads SCRIPT: nothing of the
 * program ever runs as root or dumpable.
 */
import './signal-guard.js';
import { statSync } from 'node:fs';
import { closeInheritedDescriptors } from './descriptors.js';

function fail(why: string): never {
  process.stderr.write(`etoken-ca child: ${why}\n`);
  process.exit(70);
}

function dropPrivileges(uid: number, gid: number): void {
  process.setgroups!([]);
  process.setgid!(gid);
  process.setuid!(uid);
  const groups = process.getgroups!();
  if (process.getuid!() !== uid || process.geteuid!() !== uid || process.getgid!() !== gid || process.getegid!() !== gid || groups.some((g) => g !== gid)) {
    fail('could not drop privileges');
  }
  try {
    process.setuid!(0);
    fail('could regain root after dropping privileges');
  } catch {
    // as it must be
  }
  // /proc/PID belongs to root while a process is not dumpable.
  if (statSync('/proc/self/stat').uid !== 0) fail('still dumpable after dropping privileges');
}

const [uid, gid, descriptors, script, ...args] = process.argv.slice(2);
const id = (text: string | undefined): number => (text !== undefined && /^[1-9]\d{0,9}$/.test(text) ? Number(text) : fail('usage: child-entry.js UID GID DESCRIPTORS SCRIPT [ARGS...]'));
if (!script?.startsWith('/')) fail('the script must be an absolute path');
const given = id(descriptors);
closeInheritedDescriptors((fd) => fd < given);
dropPrivileges(id(uid), id(gid));
process.argv = [process.argv[0]!, script, ...args];
try {
  await import(script);
} catch (e) {
  const code = (e as NodeJS.ErrnoException).code;
  fail(code === 'ERR_MODULE_NOT_FOUND' || code === 'EACCES' ? `cannot load ${script} as uid ${uid}: is every directory above it readable by that user?` : `cannot load ${script}: ${(e as Error).message}`);
}
