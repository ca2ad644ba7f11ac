/**
 * Many etoken-ca-client processes started at once, as MyProxy starts its
 * callouts during a burst of logons (user myproxy, umask 0077, cwd /, the
 * request on stdin). They are started by a small launcher process rather
 * than by the test runner: forking the test runner two hundred times blocks
 * its event loop for seconds, during which it would not read the server's
 * log pipe, and the server's synchronous log writes would stall on it.
 */
import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import { CLIENT_BIN } from './ca-server.js';
import type { CpuGroup } from './cpu-group.js';
import { systemUser } from './users.js';

export interface BurstClient {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** From its start to its exit, ms. */
  readonly ms: number;
}

const LAUNCHER = `
const { spawn } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const job = JSON.parse(process.argv[1]);
if (job.group) writeFileSync(job.group + '/cgroup.procs', String(process.pid) + '\\n');
process.umask(0o077);
const request = Buffer.from(job.request, 'base64');
const results = [];
let left = job.count;
for (let i = 0; i < job.count; i++) {
  const started = Date.now();
  const child = spawn(job.client, [], { uid: job.uid, gid: job.gid, cwd: '/', env: job.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s));
  child.stdin.on('error', () => undefined);
  child.stdin.end(request);
  child.on('close', (code) => {
    results.push({ code, stdout, stderr, ms: Date.now() - started });
    if (--left === 0) process.stdout.write(JSON.stringify(results));
  });
}
`;

/**
 * Starts `count` clients at once with the same request and waits for all of them; in `group`, they share
 * the CPU among themselves, as MyProxy's callouts do within myproxy-server.service under systemd.
 */
export function clientBurst(request: Buffer, configPath: string, count: number, group: CpuGroup | null = null): Promise<BurstClient[]> {
  const myproxy = systemUser('myproxy');
  const job = {
    client: CLIENT_BIN,
    uid: myproxy.uid,
    gid: myproxy.gid,
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, ETOKEN_CA_CONFIG: configPath },
    request: request.toString('base64'),
    count,
    group: group?.path ?? null,
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', LAUNCHER, JSON.stringify(job)], { maxBuffer: 64 << 20, timeout: 300_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`client burst failed: ${error.message} ${stderr}`));
      resolve(JSON.parse(stdout) as BurstClient[]);
    });
  });
}
