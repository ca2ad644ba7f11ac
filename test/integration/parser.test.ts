/**
 * The parser process as the supervisor runs it: built with tsc, spawned with
 * an empty environment (as root, and as the unprivileged user `caparse`),
 * fed the whole corpus over its stdin pipe.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/config';
import type { ParseResult } from '../../packages/ca-server/src/ipc.js';
import { CORPUS_CONFIG, corpus } from '../corpus/corpus.js';
import { expectOutcome } from '../corpus/expectations.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PARSER = join(ROOT, 'packages/ca-server/dist/parser/main.js');
const PARSER_USER = 'caparse';

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The Uid line of /proc/PID/status, read while the process ran. */
  readonly uidLine: string;
}

interface Identity {
  readonly uid: number;
  readonly gid: number;
}

let dir: string;
let configFile: string;
let caparse: Identity;

/** Runs the parser with `input` on stdin, then EOF. */
function runParser(input: string | Buffer, args: string[], identity?: Identity): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [PARSER, ...args], { env: {}, stdio: ['pipe', 'pipe', 'pipe'], cwd: '/', ...identity });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.stdin.on('error', () => {}); // the parser may exit before reading everything
    let uidLine = '';
    child.on('spawn', () => {
      uidLine = /^Uid:.*$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[0] ?? '';
      child.stdin.end(input);
    });
    child.on('error', fail);
    child.on('close', (code, signal) =>
      done({ code, signal, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), uidLine }),
    );
  });
}

function parseLine(id: string, bytes: Buffer): string {
  return `${JSON.stringify({ type: 'parse', id, data: bytes.toString('base64') })}\n`;
}

function ensureParserUser(): Identity {
  try {
    execFileSync('id', ['-u', PARSER_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', PARSER_USER]);
  }
  const id = (flag: string): number => Number(execFileSync('id', [flag, PARSER_USER]).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

beforeAll(() => {
  execFileSync('npx', ['tsc', '-b'], { cwd: ROOT, stdio: 'pipe' });
  caparse = ensureParserUser();
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

  describe.each([
    ['root', undefined],
    [PARSER_USER, 'caparse'],
  ])('as %s', (_who, user) => {
    it('answers every corpus request in order and exits 0 at EOF', async () => {
      const identity = user ? caparse : undefined;
      const input = entries.map((entry, i) => parseLine(`req-${i}`, entry.bytes)).join('');
      const run = await runParser(input, ['--config', configFile], identity);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.uidLine).toMatch(new RegExp(`^Uid:\\s+${identity?.uid ?? 0}\\s`));
      const results = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as ParseResult);
      expect(results.map((r) => r.id)).toEqual(entries.map((_, i) => `req-${i}`));
      results.forEach((result, i) => {
        const entry = entries[i]!;
        const outcome = result.type === 'parsed' ? result.fields : { refused: result.reason };
        expect.soft(() => expectOutcome(entry, outcome, config), entry.name).not.toThrow();
      });
    });
  });

  it('stops with exit 70 at a line that is not a parse request, after answering the ones before it', async () => {
    const valid = entries.find((e) => e.expect === 'valid')!;
    const run = await runParser(`${parseLine('first', valid.bytes)}{"type":"sign"}\n${parseLine('never', valid.bytes)}`, ['--config', configFile]);
    expect(run.code).toBe(70);
    expect(run.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as ParseResult).id)).toEqual(['first']);
    expect(run.stderr).toBe('etoken-ca parser: input line is not a parse request\n');
  });

  it('stops with exit 70 at a line over 4 MiB', async () => {
    const run = await runParser(Buffer.alloc(5 * 1024 * 1024, 0x41), ['--config', configFile]);
    expect(run.code).toBe(70);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^etoken-ca parser: input line longer than 4194304 bytes\n$/);
  });

  it('answers nothing and exits 0 on empty input', async () => {
    const run = await runParser('', ['--config', configFile]);
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('exits 78 with one line naming the file and key on a bad config', async () => {
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'RSA_MIN_BITS=512\n', { mode: 0o644 });
    const run = await runParser('', ['--config', bad]);
    expect(run.code).toBe(78);
    expect(run.stderr).toBe(`etoken-ca parser: ${bad}:1: RSA_MIN_BITS: must be a whole number from 2048 to 16384\n`);
  });

  it('exits 64 on an unknown option', async () => {
    const run = await runParser('', ['--pin', '1234']);
    expect(run.code).toBe(64);
    expect(run.stderr).toBe('etoken-ca parser: usage: parser/main.js --config FILE\n');
  });
});
