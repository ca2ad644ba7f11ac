/**
 * The parser process as the supervisor runs it: started through the
 * product's spawnNode as the unprivileged user `caparse`, with an empty
 * environment, fed the whole corpus over its stdin pipe as frames.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { encodeFrame } from '@etoken-ca/protocol/frames';
import { encodeParseRequest, readParseAnswer } from '@etoken-ca/protocol/parser-messages';
import { CORPUS_CONFIG, corpus } from '../corpus/corpus.js';
import { expectOutcome } from '../corpus/expectations.js';
import { systemUser, type SystemUser } from '../helpers/users.js';
import { WorkerProcess } from '../helpers/worker-process.js';

let dir: string;
let configFile: string;
let caparse: SystemUser;

const parser = (args: readonly string[] = ['--config', configFile]): WorkerProcess => new WorkerProcess('parser', args, caparse);

beforeAll(() => {
  caparse = systemUser('caparse');
  dir = mkdtempSync(join(tmpdir(), 'etoken-parser-'));
  chmodSync(dir, 0o755);
  configFile = join(dir, 'etoken-ca.conf');
  writeFileSync(configFile, CORPUS_CONFIG, { mode: 0o644 });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the parser process', () => {
  const entries = corpus();
  const config = parseConfig(CORPUS_CONFIG, 'corpus.conf');

  it('runs as caparse, answers every corpus request in order and exits 0 at EOF', async () => {
    const worker = parser();
    const send = (i: number): void => worker.send(encodeParseRequest({ type: 'parse', id: `req-${i}`, request: entries[i]!.bytes }));
    send(0);
    const first = readParseAnswer((await worker.next())!);
    // Read once it has answered: before its first statement a child is still root, on its way down.
    const uidLine = /^Uid:.*$/m.exec(readFileSync(`/proc/${worker.child.pid}/status`, 'utf8'))?.[0] ?? '';
    for (let i = 1; i < entries.length; i++) send(i);
    worker.child.stdin!.end();
    const results = [first, ...(await worker.rest()).map(readParseAnswer)];
    expect(worker.stderr).toEqual([]);
    expect((await worker.exited).code).toBe(0);
    expect(uidLine).toMatch(new RegExp(`^Uid:\\s+${caparse.uid}\\s+${caparse.uid}\\s+${caparse.uid}\\s+${caparse.uid}$`));
    expect(results.map((r) => r.id)).toEqual(entries.map((_, i) => `req-${i}`));
    results.forEach((result, i) => {
      const entry = entries[i]!;
      const outcome = result.type === 'parsed' ? result.fields : { refused: result.reason };
      expect.soft(() => expectOutcome(entry, outcome, config), entry.name).not.toThrow();
    });
  });

  it('stops with exit 70 at a frame that is not a parse request, after answering the ones before it', async () => {
    const valid = entries.find((e) => e.expect === 'valid')!;
    const worker = parser();
    worker.send([...encodeParseRequest({ type: 'parse', id: 'first', request: valid.bytes }), ...encodeFrame({ type: 'sign' }), ...encodeParseRequest({ type: 'parse', id: 'never', request: valid.bytes })]);
    worker.child.stdin!.end();
    expect((await worker.rest()).map((f) => f.message.id)).toEqual(['first']);
    expect((await worker.exited).code).toBe(70);
    expect(worker.stderr).toEqual(['etoken-ca parser: not a parse request']);
  });

  it('stops with exit 70 at a line over its limit, before the newline', async () => {
    const worker = parser();
    worker.send([Buffer.alloc(5 * 1024 * 1024, 0x41)]);
    worker.child.stdin!.end();
    expect(await worker.rest()).toEqual([]);
    expect((await worker.exited).code).toBe(70);
    expect(worker.stderr).toEqual(['etoken-ca parser: a line longer than 4096 bytes']);
  });

  it('answers nothing and exits 0 on empty input', async () => {
    const worker = parser();
    expect(await worker.stop()).toBe(0);
    expect(worker.stderr).toEqual([]);
  });

  it('exits 78 with one line naming the file and key on a bad config', async () => {
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'RSA_MIN_BITS=512\n', { mode: 0o644 });
    const worker = parser(['--config', bad]);
    expect(await worker.stop()).toBe(78);
    expect(worker.stderr).toEqual([`etoken-ca parser: ${bad}:1: RSA_MIN_BITS: must be a whole number from 2048 to 16384`]);
  });

  it('exits 64 on an unknown option', async () => {
    const worker = parser(['--pin', '1234']);
    expect(await worker.stop()).toBe(64);
    expect(worker.stderr).toEqual(['etoken-ca parser: usage: parser/main.js --config FILE']);
  });
});
