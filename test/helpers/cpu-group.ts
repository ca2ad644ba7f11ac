/**
 * A CPU control group for a test's client processes, as systemd gives every
 * service its own (myproxy-server.service with all its callouts on one side,
 * etoken-ca.service on the other): the kernel then shares the CPU between
 * the groups, not between the processes, and two hundred clients starting at
 * once do not leave the server a two-hundredth of the machine. Without a
 * writable cpu controller (cgroup v2 at /sys/fs/cgroup, or v1's
 * /sys/fs/cgroup/cpu) there is no group, and the processes share the CPU as
 * they would outside systemd.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOTS = ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup'];

export class CpuGroup {
  private constructor(
    readonly path: string,
    private readonly root: string,
  ) {}

  /** A new group, or null when this machine offers none. */
  static create(name: string): CpuGroup | null {
    for (const root of ROOTS) {
      const controllers = join(root, 'cgroup.controllers');
      const usable = existsSync(join(root, 'cpu.shares')) || (existsSync(controllers) && readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu'));
      if (!usable) continue;
      const path = join(root, `${name}-${process.pid}-${Date.now()}`);
      try {
        mkdirSync(path);
        return new CpuGroup(path, root);
      } catch {
        // not writable here: try the next, or run without a group
      }
    }
    return null;
  }

  /** Moves a process (and the children it starts from now on) into the group. */
  add(pid: number): void {
    writeFileSync(join(this.path, 'cgroup.procs'), `${pid}\n`);
  }

  /** Moves whatever still runs in the group back to the root group, and removes it. */
  remove(): void {
    try {
      const pids = readFileSync(join(this.path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
      for (const pid of pids) {
        try {
          writeFileSync(join(this.root, 'cgroup.procs'), `${pid}\n`);
        } catch {
          // exited meanwhile
        }
      }
      rmdirSync(this.path);
    } catch {
      // already gone
    }
  }
}
