/**
 * Throughput with real etoken-ca-client processes, as MyProxy runs them: a
 * fresh Node process per request, as the client account, request on stdin,
 * `streams` of them at a time.
 */
import { spawn } from 'node:child_process';
import { CLIENT_BIN } from '../../../test/helpers/ca-server.js';
import { systemUser } from '../../../test/helpers/users.js';
import { nowMs } from '../stats.js';

function runClient(configPath: string, stdin: string, uid: number, gid: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLIENT_BIN, [], { uid, gid, cwd: '/', env: { ETOKEN_CA_CONFIG: configPath }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.stdin.end(stdin);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 && out.includes('BEGIN CERTIFICATE') ? resolve() : reject(new Error(`etoken-ca-client exited ${code}: ${err.trim()}`))));
  });
}

/** Certificates per second with `streams` clients running at a time, `total` in all. */
export async function realClientRate(configPath: string, rawRequest: string, streams: number, total: number): Promise<number> {
  const { uid, gid } = systemUser('myproxy');
  let started = 0;
  const stream = async (): Promise<void> => {
    while (started < total) {
      started++;
      await runClient(configPath, rawRequest, uid, gid);
    }
  };
  const start = nowMs();
  await Promise.all(Array.from({ length: streams }, stream));
  return (total * 1000) / (nowMs() - start);
}
