/**
 * The one way the supervisor starts a Node process (the parser, the signer,
 * the token probe, the mail sender): node with the runtime guard, an empty
 * environment, cwd /, and exactly the descriptors given, running
 * child-entry.js as root, which guards its signals, closes any descriptor it
 * was not meant to have, drops to the account for good (which also leaves it
 * not dumpable: no process of that uid can trace it or read its memory) and
 * only then loads the program.
 */
import { spawn, type ChildProcess, type StdioPipe, type IOType } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Account } from './account.js';
import { RUNTIME_GUARD_FLAGS } from './runtime-guard.js';

const CHILD_ENTRY = fileURLToPath(new URL('./child-entry.js', import.meta.url));

export interface NodeChild {
  /** Absolute path of the program's entry module. */
  readonly script: string;
  readonly args: readonly string[];
  readonly account: Account;
  /** stdin, stdout, stderr, then any extra pipes (the signer's PIN pipe is fd 3). */
  readonly stdio: readonly (StdioPipe | Extract<IOType, 'ignore'>)[];
  /** Its own process group, so a time limit can end whatever it started. */
  readonly detached?: boolean;
}

export function spawnNode(child: NodeChild): ChildProcess {
  const { uid, gid } = child.account;
  return spawn(process.execPath, [...RUNTIME_GUARD_FLAGS, CHILD_ENTRY, String(uid), String(gid), String(child.stdio.length), child.script, ...child.args], {
    env: {},
    cwd: '/',
    stdio: [...child.stdio],
    detached: child.detached ?? false,
    shell: false,
  });
}
