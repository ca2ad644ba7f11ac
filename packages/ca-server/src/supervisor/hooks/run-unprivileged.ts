/**
 * Runs an operator's program (a hook, the notifier, the mail sender) as an
 * unprivileged account: spawn with its uid/gid (which also drops the
 * supplementary groups), no shell, cwd /, a minimal environment, stdin
 * closed or fed from a Buffer, output kept up to a bound, and a time limit
 * after which its whole process group is killed. Never throws: every way it
 * can end is in the outcome.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Account } from '../../launch/account.js';
import { spawnNode } from '../../launch/spawn-node.js';

export const HOOK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_MAX_OUTPUT = 4096;
/** After the program exits, how long a grandchild holding its pipes open is waited for. */
const PIPE_GRACE_MS = 1000;

interface Supervision {
  /** Written to the program's stdin, which is then closed. */
  readonly input?: Buffer;
  readonly timeoutMs: number;
  /** Bytes of stdout and stderr kept (together); the rest is read and dropped. */
  readonly maxOutputBytes?: number;
}

export interface UnprivilegedRun extends Supervision {
  readonly program: string;
  readonly args?: readonly string[];
  readonly account: Account;
  /** Added to PATH; never a secret (use `input` for that). */
  readonly env?: Readonly<Record<string, string>>;
}

/** One of the server's own Node programs (the mail sender), started like every Node child. */
export interface NodeRun extends Supervision {
  readonly script: string;
  readonly account: Account;
}

export interface RunOutcome {
  /** Exited with status 0 in time. */
  readonly ok: boolean;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** stdout and stderr as they came, cut at the bound, control characters made visible. */
  readonly output: string;
  /** Why it could not be started, if so. */
  readonly startError?: string;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** An operator's program (a hook, the notifier command). */
export function runUnprivileged(run: UnprivilegedRun): Promise<RunOutcome> {
  return supervise(run, () =>
    spawn(run.program, [...(run.args ?? [])], {
      uid: run.account.uid,
      gid: run.account.gid,
      env: { PATH: HOOK_PATH, ...run.env },
      cwd: '/',
      stdio: [run.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout kills whatever it started too.
      detached: true,
      shell: false,
    }),
  );
}

export function runNodeUnprivileged(run: NodeRun): Promise<RunOutcome> {
  return supervise(run, () => spawnNode({ script: run.script, args: [], account: run.account, stdio: [run.input ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true }));
}

function supervise(run: Supervision, start: () => ChildProcess): Promise<RunOutcome> {
  const maxOutput = run.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  return new Promise((resolve) => {
    const child = start();
    const kept: Buffer[] = [];
    let keptBytes = 0;
    const keep = (chunk: Buffer): void => {
      const room = maxOutput - keptBytes;
      if (room <= 0) return;
      const part = chunk.subarray(0, room);
      kept.push(Buffer.from(part));
      keptBytes += part.length;
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    if (run.input) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(run.input);
    }

    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, run.timeoutMs);
    timer.unref();

    let settled = false;
    const settle = (outcome: Omit<RunOutcome, 'output' | 'timedOut'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout!.destroy();
      child.stderr!.destroy();
      const output = Buffer.concat(kept).toString('utf8').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
      resolve({ ...outcome, ok: outcome.ok && !timedOut, timedOut, output });
    };
    child.once('error', (e) => settle({ ok: false, code: null, signal: null, startError: (e as NodeJS.ErrnoException).code ?? e.message }));
    child.once('exit', (code, signal) => {
      const finish = (): void => settle({ ok: code === 0, code, signal });
      child.once('close', finish);
      setTimeout(finish, PIPE_GRACE_MS).unref();
    });
  });
}

/** One line for a log record: how the run ended. */
export function describeOutcome(outcome: RunOutcome): string {
  if (outcome.startError) return `could not start: ${outcome.startError}`;
  if (outcome.timedOut) return 'killed: ran past its time limit';
  if (outcome.signal) return `killed by ${outcome.signal}`;
  return `exit status ${outcome.code}`;
}
