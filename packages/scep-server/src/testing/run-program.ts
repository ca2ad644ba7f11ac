import { execFile } from 'node:child_process';

export interface ProgramRun {
  readonly status: number | null;
  readonly stdout: string;
  /** stdout and stderr together, for messages a program prints on either. */
  readonly output: string;
}

/** Runs a program to its end without blocking the event loop (a test's own server must keep answering). */
export function runProgram(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 90_000): Promise<ProgramRun> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', timeout: timeoutMs, env }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ status, stdout, output: `${stdout}${stderr}` });
    });
  });
}
