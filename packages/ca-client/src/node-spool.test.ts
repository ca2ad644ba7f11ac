import { execFileSync } from 'node:child_process';
import { chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatAnswer, spoolLayout, type SpoolLayout } from '@etoken-ca/contract/core/spool';
import { nodeSpool } from './node-spool.js';

const ID = 'd'.repeat(32);
const ANSWER = { status: 'refused', exit: 65, reason: 'no' } as const;
let dir: string;
let layout: SpoolLayout;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'node-spool-'));
  layout = spoolLayout(dir);
  mkdirSync(layout.incoming);
  mkdirSync(layout.answers);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const answerPath = (): string => join(layout.answers, `${ID}.answer`);

describe('nodeSpool requests and locks', () => {
  it('creates the request 0640 with the bytes, publishes the lock and removes both', () => {
    const spool = nodeSpool(layout);
    spool.createRequest(ID, Buffer.from('request bytes'));
    const path = join(layout.incoming, `${ID}.req`);
    expect(readFileSync(path, 'utf8')).toBe('request bytes');
    expect(lstatSync(path).mode & 0o777).toBe(0o640);
    spool.publishLock(ID, '42.1234');
    expect(readlinkSync(join(layout.incoming, `${ID}.lock`))).toBe('42.1234');
    spool.removeLock(ID);
    spool.removeRequest(ID);
    spool.removeRequest(ID);
    expect(execFileSync('ls', ['-A', layout.incoming], { encoding: 'utf8' })).toBe('');
  });

  it("gives the request file the time the client's limit started to run as its mtime", () => {
    nodeSpool(layout, 1_700_000_000_000).createRequest(ID, Buffer.from('x'));
    expect(lstatSync(join(layout.incoming, `${ID}.req`)).mtimeMs).toBe(1_700_000_000_000);
  });

  it('never writes through an existing name or a symlink', () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'untouched');
    symlinkSync(target, join(layout.incoming, `${ID}.req`));
    expect(() => nodeSpool(layout).createRequest(ID, Buffer.from('x'))).toThrow(expect.objectContaining({ exitCode: 73 }));
    expect(readFileSync(target, 'utf8')).toBe('untouched');
  });

  it('reports a missing spool as exit 69', () => {
    rmSync(layout.incoming, { recursive: true });
    rmSync(layout.answers, { recursive: true });
    const spool = nodeSpool(layout);
    expect(() => spool.createRequest(ID, Buffer.from('x'))).toThrow(expect.objectContaining({ exitCode: 69 }));
    expect(() => spool.watchAnswers(() => undefined, () => undefined)).toThrow(expect.objectContaining({ exitCode: 69 }));
  });
});

describe('nodeSpool answers', () => {
  it("reads a complete answer of root's", () => {
    writeFileSync(answerPath(), formatAnswer(ANSWER));
    expect(nodeSpool(layout).readAnswer(ID)).toEqual(ANSWER);
  });

  it('ignores a missing, half-written or oversized answer', () => {
    const spool = nodeSpool(layout);
    expect(spool.readAnswer(ID)).toBeNull();
    writeFileSync(answerPath(), formatAnswer(ANSWER).slice(0, 20));
    expect(spool.readAnswer(ID)).toBeNull();
    writeFileSync(answerPath(), formatAnswer({ ...ANSWER, reason: 'x'.repeat(70_000) }));
    expect(spool.readAnswer(ID)).toBeNull();
  });

  it('ignores an answer not owned by root, a symlink and a FIFO (without blocking)', () => {
    const spool = nodeSpool(layout);
    const elsewhere = join(dir, 'elsewhere');
    writeFileSync(elsewhere, formatAnswer(ANSWER));
    symlinkSync(elsewhere, answerPath());
    expect(spool.readAnswer(ID)).toBeNull();
    rmSync(answerPath());
    execFileSync('mkfifo', [answerPath()]);
    expect(spool.readAnswer(ID)).toBeNull();
    rmSync(answerPath());
    writeFileSync(answerPath(), formatAnswer(ANSWER));
    chownSync(answerPath(), 1, 1);
    expect(spool.readAnswer(ID)).toBeNull();
  });

  it('reports the name of a new answer to the watcher', async () => {
    const names: (string | null)[] = [];
    const watch = nodeSpool(layout).watchAnswers((name) => names.push(name), () => undefined);
    writeFileSync(answerPath(), formatAnswer(ANSWER));
    await expect.poll(() => names).toContain(`${ID}.answer`);
    watch?.close();
  });
});
