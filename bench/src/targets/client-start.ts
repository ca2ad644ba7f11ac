/**
 * P7: etoken-ca-client start-up, from spawn to the moment it waits on the
 * spool (its lock appears: request written, config and CA certificate read,
 * answer watch set up), next to a bare `node -e 0`, alternating.
 */
import { spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { CLIENT_BIN } from '../../../test/helpers/ca-server.js';
import { systemUser } from '../../../test/helpers/users.js';
import { median, nowMs } from '../stats.js';
import { bareNodeMs } from './node-start.js';

export interface StartTimes {
  readonly clientMs: number;
  readonly nodeMs: number;
}

/** ms from spawn until the client publishes its lock; the client then runs on to its answer. */
function clientUntilWaiting(incoming: string, configPath: string, rawRequest: string): Promise<number> {
  const { uid, gid } = systemUser('myproxy');
  return new Promise((resolve, reject) => {
    let waitingAt = 0;
    const watcher = watch(incoming, (_event, name) => {
      if (!waitingAt && name?.endsWith('.lock')) waitingAt = nowMs();
    });
    const start = nowMs();
    const child = spawn(CLIENT_BIN, [], { uid, gid, cwd: '/', env: { ETOKEN_CA_CONFIG: configPath }, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.stdin.end(rawRequest);
    child.once('error', reject);
    child.once('close', (code) => {
      watcher.close();
      if (code !== 0 || !waitingAt) reject(new Error(`etoken-ca-client exited ${code}: ${err.trim()}`));
      else resolve(waitingAt - start);
    });
  });
}

export async function clientStart(incoming: string, configPath: string, rawRequest: string, runs: number): Promise<StartTimes> {
  const client: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < runs; i++) {
    client.push(await clientUntilWaiting(incoming, configPath, rawRequest));
    node.push(await bareNodeMs());
  }
  return { clientMs: median(client), nodeMs: median(node) };
}
