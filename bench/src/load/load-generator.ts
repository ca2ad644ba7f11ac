/**
 * A load generator that speaks the client's spool protocol, without a fresh
 * Node process per request: the server is measured, not client start-up.
 * Runs as the client account (the server checks that the lock names a live
 * process of the request file's owner: this one). Per request: write
 * <id>.req (O_EXCL), publish <id>.lock -> "<pid>.<starttime>", wait for
 * answers/<id>.answer, remove the files.
 *
 * argv[2]: a LoadJob as JSON; stdout: one LoadResult as JSON.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, readFileSync, symlinkSync, unlinkSync, watch, writeSync } from 'node:fs';
import { ANSWER_SUFFIX, answerFile, formatLockTarget, lockFile, parseAnswer, requestFile, spoolLayout, startTimeFromStat } from '@etoken-ca/contract/core/spool';
import { nowMs } from '../stats.js';
import type { LoadJob, LoadResult } from './load-protocol.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
/** Backs up inotify, which drops events when its queue overflows. */
const SAFETY_POLL_MS = 500;

const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
const layout = spoolLayout(job.spoolDir);
const requestBytes = readFileSync(job.requestFile);
const lockTarget = formatLockTarget({ pid: process.pid, startTime: startTimeFromStat(readFileSync('/proc/self/stat', 'latin1'))! });
/** Requests waiting for their answer, each woken with whether it was issued. */
const waiting = new Map<string, (issued: boolean) => void>();

function readIssued(id: string): boolean | null {
  let text: string;
  try {
    text = readFileSync(answerFile(layout, id), 'utf8');
  } catch {
    return null;
  }
  const answer = parseAnswer(text);
  return answer ? answer.status === 'issued' : null;
}

function check(id: string): void {
  const wake = waiting.get(id);
  if (!wake) return;
  const issued = readIssued(id);
  if (issued !== null) wake(issued);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

async function oneRequest(): Promise<{ ms: number; issued: boolean }> {
  const id = randomBytes(16).toString('hex');
  const start = nowMs();
  const fd = openSync(requestFile(layout, id), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o640);
  try {
    writeSync(fd, requestBytes);
  } finally {
    closeSync(fd);
  }
  const answered = new Promise<boolean>((resolve) => waiting.set(id, resolve));
  symlinkSync(lockTarget, lockFile(layout, id));
  check(id);
  const issued = await answered;
  const ms = nowMs() - start;
  waiting.delete(id);
  removeQuietly(lockFile(layout, id));
  removeQuietly(requestFile(layout, id));
  return { ms, issued };
}

async function stream(count: number, latencies: number[], failures: { n: number }): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { ms, issued } = await oneRequest();
    if (issued) latencies.push(ms);
    else failures.n++;
  }
}

async function main(): Promise<void> {
  const watcher = watch(layout.answers, (_event, name) => {
    if (name?.endsWith(ANSWER_SUFFIX)) check(name.slice(0, -ANSWER_SUFFIX.length));
  });
  const poll = setInterval(() => [...waiting.keys()].forEach(check), SAFETY_POLL_MS);
  const latencies: number[] = [];
  const failures = { n: 0 };
  const start = nowMs();
  await Promise.all(Array.from({ length: job.streams }, () => stream(job.perStream, latencies, failures)));
  const result: LoadResult = { latenciesMs: latencies, wallMs: nowMs() - start, failures: failures.n };
  clearInterval(poll);
  watcher.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
