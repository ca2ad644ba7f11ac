/**
 * A compromised SCEP account: a process of the scep user that writes its own
 * entries straight into SCEP_SPOOL_DIR (the spool's protocol, spoken by
 * hand: request file, then a lock naming the live writer), waits for the
 * CA's answers and prints them. No front end, no RA key check: whatever the
 * CA issues for it, an attacker holding the scep account would get.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { encodeScepSpoolRequest } from '@etoken-ca/contract/core/scep/scep-spool';
import { STRONG_ALGORITHMS, type RaCredentials } from '@etoken-ca/scep-server/core/index';
import { openEnvelope } from '../../packages/scep-server/src/core/envelope-opener.js';
import { openSignedData } from '../../packages/scep-server/src/core/signed-data-opener.js';
import { systemUser } from './users.js';

const WRITER = `
const { closeSync, openSync, readFileSync, symlinkSync, unlinkSync, writeSync, constants } = require('node:fs');
const { randomBytes } = require('node:crypto');
const [spool, waitMs] = [process.argv[1], Number(process.argv[2])];
const entries = JSON.parse(readFileSync(0, 'utf8'));
const stat = readFileSync('/proc/self/stat', 'latin1');
const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
const ids = entries.map((entry) => {
  const id = randomBytes(16).toString('hex');
  const fd = openSync(spool + '/incoming/' + id + '.req', constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o640);
  writeSync(fd, Buffer.from(entry, 'base64'));
  closeSync(fd);
  symlinkSync(process.pid + '.' + start, spool + '/incoming/' + id + '.lock');
  return id;
});
const answers = ids.map(() => null);
const leave = (id) => { for (const f of ['.lock', '.req']) { try { unlinkSync(spool + '/incoming/' + id + f); } catch {} } };
const deadline = Date.now() + waitMs;
const poll = () => {
  ids.forEach((id, i) => {
    if (answers[i] !== null) return;
    try { answers[i] = JSON.parse(readFileSync(spool + '/answers/' + id + '.answer', 'utf8')); } catch { return; }
    leave(id);
  });
  if (answers.every((a) => a !== null) || Date.now() > deadline) {
    ids.forEach(leave);
    process.stdout.write(JSON.stringify(answers));
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

/** A spool entry as the front end writes it: the message and the content key recovered with the RA key, or the one given. */
export function forgedSpoolEntry(message: Buffer, ra: RaCredentials, contentKey?: Buffer): Buffer {
  const recovered = openEnvelope(openSignedData(message).content, { ra }, STRONG_ALGORITHMS).contentKey;
  return encodeScepSpoolRequest({ contentKey: contentKey ?? recovered, message });
}

/** Writes `entries` into the SCEP spool at once, as one process of the scep account; the CA's answers (null when none came). */
export function forgeEntries(scepSpoolDir: string, entries: readonly Buffer[], waitMs = 20_000): Promise<Array<ForgedAnswer | null>> {
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
      resolve(JSON.parse(out) as Array<ForgedAnswer | null>);
    });
    child.stdin.end(JSON.stringify(entries.map((entry) => entry.toString('base64'))));
  });
}

/** Writes `entry` into the SCEP spool as the scep account and returns the CA's answer (null when none came). */
export async function forgeEntry(scepSpoolDir: string, entry: Buffer, waitMs = 20_000): Promise<ForgedAnswer | null> {
  const [answer] = await forgeEntries(scepSpoolDir, [entry], waitMs);
  return answer ?? null;
}
