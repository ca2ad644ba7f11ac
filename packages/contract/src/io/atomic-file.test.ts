import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareFile, writeFileAtomic } from './atomic-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'atomic-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const isRoot = process.getuid?.() === 0;

describe('writeFileAtomic', () => {
  it('replaces a file whole, with the mode asked for whatever the umask, from pieces, and counts the bytes', () => {
    const path = join(dir, 'index.txt');
    writeFileSync(path, 'old\n');
    expect(writeFileAtomic(path, ['V\t', Buffer.from('line\n')], { mode: 0o640 })).toBe(7);
    expect(readFileSync(path, 'utf8')).toBe('V\tline\n');
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(['index.txt']);
  });

  it.runIf(isRoot)('gives the file its owner before it is visible', () => {
    const path = join(dir, 'answer');
    writeFileAtomic(path, 'x', { mode: 0o640, owner: { uid: 0, gid: 4 } });
    expect(statSync(path)).toMatchObject({ uid: 0, gid: 4 });
  });

  it('leaves the old file as it was and no temp file when writing fails', () => {
    const path = join(dir, 'serial');
    writeFileSync(path, '1000\n');
    function* failing(): Generator<string> {
      yield 'half';
      throw new Error('no more');
    }
    expect(() => writeFileAtomic(path, failing(), { mode: 0o644 })).toThrow('no more');
    expect(readFileSync(path, 'utf8')).toBe('1000\n');
    expect(readdirSync(dir)).toEqual(['serial']);
  });

  it('removes a temp file left by a crash, and never writes through a symlink in its place', () => {
    const path = join(dir, 'crlnumber');
    const target = join(dir, 'elsewhere');
    writeFileSync(target, 'untouched');
    symlinkSync(target, `${path}.tmp`);
    writeFileAtomic(path, '02\n', { mode: 0o644 });
    expect(readFileSync(path, 'utf8')).toBe('02\n');
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(readdirSync(dir).sort()).toEqual(['crlnumber', 'elsewhere']);
  });
});

describe('prepareFile', () => {
  it('shows nothing until published, at the temp name asked for, and discards without a trace', () => {
    const path = join(dir, 'ID.answer');
    const tempPath = join(dir, '.ID.tmp');
    const prepared = prepareFile(path, 'certificate', { mode: 0o640, flush: false, tempPath });
    expect(readdirSync(dir)).toEqual(['.ID.tmp']);
    prepared.publish();
    expect(readdirSync(dir)).toEqual(['ID.answer']);
    prepareFile(path, 'another', { mode: 0o640, tempPath }).discard();
    expect(readdirSync(dir)).toEqual(['ID.answer']);
    expect(readFileSync(path, 'utf8')).toBe('certificate');
  });
});
