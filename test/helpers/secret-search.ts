/** Looks for a secret where it must never be: process environments and command lines, files. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The pid and every descendant of it, from /proc. */
export function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(name), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

/** /proc/<pid>/environ and cmdline entries that contain the secret. */
export function secretInProcesses(pids: readonly number[], secret: string): string[] {
  const found: string[] = [];
  for (const pid of pids) {
    for (const what of ['environ', 'cmdline']) {
      if (readFileSync(`/proc/${pid}/${what}`).includes(secret)) found.push(`/proc/${pid}/${what}`);
    }
  }
  return found;
}

/** Regular files under `dir` whose bytes contain the secret. */
export function secretInFiles(dir: string, secret: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) found.push(...secretInFiles(path, secret));
    else if (stat?.isFile() && readFileSync(path).includes(secret)) found.push(path);
  }
  return found;
}
