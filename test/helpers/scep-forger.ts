/**
 * A compromised SCEP account: a process of the scep user that writes its own
 * entries straight into SCEP_SPOOL_DIR (the spool's protocol, spoken by
 * hand: request file, then a lock naming the live writer), waits for the
 * CA's answer and prints it. No front end, no RA key check: whatever the CA
 * issues for it, an attacker holding the scep account would get.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { systemUser } from './users.js';

const WRITER = `
const { closeSync, openSync, readFileSync, symlinkSync, unlinkSync, writeSync, constants } = require('node:fs');
const { randomBytes } = require('node:crypto');
const [spool, waitMs] = [process.argv[1], Number(process.argv[2])];
const bytes = readFileSync(0);
const id = randomBytes(16).toString('hex');
const fd = openSync(spool + '/incoming/' + id + '.req', constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o640);
writeSync(fd, bytes);
closeSync(fd);
const stat = readFileSync('/proc/self/stat', 'latin1');
const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
symlinkSync(process.pid + '.' + start, spool + '/incoming/' + id + '.lock');
const deadline = Date.now() + waitMs;
const poll = () => {
  let answer = null;
  try { answer = readFileSync(spool + '/answers/' + id + '.answer', 'utf8'); } catch {}
  if (answer !== null || Date.now() > deadline) {
    for (const f of ['.lock', '.req']) { try { unlinkSync(spool + '/incoming/' + id + f); } catch {} }
    process.stdout.write(answer ?? 'no answer\\n');
    return;
  }
  setTimeout(poll, 50);
};
poll();
`;

export interface ForgedAnswer {
  readonly status?: 'SUCCESS' | 'PENDING' | 'FAILURE';
  readonly failInfo?: string;
  readonly reason?: string;
  readonly certificate?: string;
}

/** Writes `entry` into the SCEP spool as the scep account and returns the CA's answer (null when none came). */
export function forgeEntry(scepSpoolDir: string, entry: Buffer, waitMs = 20_000): Promise<ForgedAnswer | null> {
  const scep = systemUser('scep');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', WRITER, join(scepSpoolDir), String(waitMs)], { uid: scep.uid, gid: scep.gid, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'], env: {} });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the forger failed (${code}): ${err}`));
      resolve(out.trim() === 'no answer' ? null : (JSON.parse(out) as ForgedAnswer));
    });
    child.stdin.end(entry);
  });
}
