/**
 * The real etoken-ca-client as MyProxy runs it: user myproxy (or another
 * front end's account, myproxy2), umask 0077, cwd /, the request on stdin,
 * the config named by ETOKEN_CA_CONFIG.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';
import { CLIENT_BIN } from './ca-server.js';
import { systemUser } from './users.js';

export interface ClientResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningClient {
  readonly child: ChildProcess;
  readonly done: Promise<ClientResult>;
}

export function startClient(request: Buffer, configPath: string, account: 'myproxy' | 'myproxy2' = 'myproxy'): RunningClient {
  const frontEnd = systemUser(account);
  const child = spawn('/bin/sh', ['-c', 'umask 0077 && exec "$0"', CLIENT_BIN], {
    uid: frontEnd.uid,
    gid: frontEnd.gid,
    cwd: '/',
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, ETOKEN_CA_CONFIG: configPath },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(request);
  const done = new Promise<ClientResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export const runClient = (request: Buffer, configPath: string): Promise<ClientResult> => startClient(request, configPath).done;
