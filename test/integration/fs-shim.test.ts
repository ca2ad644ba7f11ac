/**
 * The file-system shim (test/fs-shim) and the crash states built from its
 * record (test/helpers/crash-states.ts), on a small Node program that does
 * what the CA server does to its files: appends to a journal and
 * fdatasyncs it, writes a temp file, fsyncs it, renames it over the state
 * file and fsyncs the directory; then writes one more file whose directory
 * it never fsyncs. Needs gcc.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCrashModel, crashStates, materializeCrashState, readShimRecord, snapshotTree, type ShimRecord } from '../helpers/crash-states.js';

const BUILD_SCRIPT = join(import.meta.dirname, '../fs-shim/build.sh');

const PROGRAM = `
import * as fs from 'node:fs';
const [dir, ...phases] = process.argv.slice(2);
const steps = {};
const step = (name, action) => {
  try {
    steps[name] = { value: action() ?? null };
  } catch (error) {
    steps[name] = { code: error.code };
  }
};
const journal = fs.openSync(dir + '/journal', 'a');
step('append-1', () => fs.writeSync(journal, 'record-1\\n'));
step('append-2', () => fs.writeSync(journal, 'record-2\\n'));
if (phases.includes('pause')) {
  process.stdout.write('paused\\n');
  fs.readSync(0, Buffer.alloc(1));
}
step('fdatasync', () => fs.fdatasyncSync(journal));
step('append-3', () => fs.writeSync(journal, 'record-3-unsynced\\n'));
fs.closeSync(journal);
const temp = fs.openSync(dir + '/state.tmp', 'w');
step('write-temp', () => fs.writeSync(temp, 'state v2\\n'));
step('fsync-temp', () => fs.fsyncSync(temp));
fs.closeSync(temp);
step('rename', () => fs.renameSync(dir + '/state.tmp', dir + '/state'));
const dirFd = fs.openSync(dir, 'r');
step('fsync-dir', () => fs.fsyncSync(dirFd));
fs.closeSync(dirFd);
const late = fs.openSync(dir + '/late', 'w');
step('write-late', () => fs.writeSync(late, 'late\\n'));
step('fsync-late', () => fs.fsyncSync(late));
fs.closeSync(late);
if (phases.includes('concurrent')) {
  await Promise.all([0, 1, 2, 3].map(async (file) => {
    const handle = await fs.promises.open(dir + '/concurrent-' + file, 'a');
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((line) => handle.write('file ' + file + ' line ' + line + '\\n')));
    await handle.datasync();
    await handle.close();
  }));
}
process.stdout.write(JSON.stringify(steps) + '\\n');
`;

/** The program's write steps, in the order of their write calls. */
const WRITE_STEPS = ['append-1', 'append-2', 'append-3', 'write-temp', 'write-late'] as const;

type Outcome = { readonly value: number | null } | { readonly code: string };
type Steps = Readonly<Record<string, Outcome>>;

interface ShimStats {
  readonly pid: number;
  readonly controlError: string | null;
  readonly rules: readonly { readonly name: string; readonly source: string; readonly matches: number; readonly fired: number }[];
}

let work: string;
let shim: string;
let program: string;
let trees = 0;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'fs-shim-test-'));
  execFileSync('bash', [BUILD_SCRIPT, join(work, 'build')]);
  shim = join(work, 'build', 'fs-shim.so');
  program = join(work, 'program.mjs');
  writeFileSync(program, PROGRAM);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A directory as the program finds it: a journal with one record and the first state. */
function freshTree(): string {
  const dir = join(work, `tree-${++trees}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'journal'), 'record-0\n');
  writeFileSync(join(dir, 'state'), 'state v1\n');
  return dir;
}

function shimEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LD_PRELOAD: shim, ...settings };
}

function parseSteps(stdout: string): Steps {
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as Steps;
}

function runProgram(dir: string, settings: Record<string, string> = {}, phases: readonly string[] = []): Steps {
  const result = spawnSync(process.execPath, [program, dir, ...phases], { env: shimEnv(settings), encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`the program failed (${result.status ?? result.signal}): ${result.stderr}`);
  return parseSteps(result.stdout);
}

function readStats(path: string): ShimStats {
  return JSON.parse(readFileSync(path, 'utf8')) as ShimStats;
}

/** The control file is replaced by a rename: the shim must never read half of it. */
function writeControl(path: string, rules: string): void {
  writeFileSync(`${path}.new`, rules);
  renameSync(`${path}.new`, path);
}

const read = (dir: string, name: string): string | null => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : null);

describe('fs-shim faults', () => {
  it('fails the third write with ENOSPC without writing anything', () => {
    const dir = freshTree();
    const steps = runProgram(dir, { FS_SHIM_FAULTS: `op=write path=${dir}/ nth=3 errno=ENOSPC` });
    expect(steps['append-1']).toEqual({ value: 9 });
    expect(steps['append-2']).toEqual({ value: 9 });
    expect(steps['append-3']).toEqual({ code: 'ENOSPC' });
    expect(steps['write-temp']).toEqual({ value: 9 });
    expect(read(dir, 'journal')).toBe('record-0\nrecord-1\nrecord-2\n');
  });

  it('a short write alone never reaches Node: libuv writes the rest at once', () => {
    const dir = freshTree();
    const stats = `${dir}.stats`;
    const steps = runProgram(dir, {
      FS_SHIM_FAULTS: `op=write path=${dir}/journal nth=2 short=4; name=writes op=write path=${dir}/`,
      FS_SHIM_STATS: stats,
    });
    expect(steps['append-2']).toEqual({ value: 9 });
    expect(read(dir, 'journal')).toBe('record-0\nrecord-1\nrecord-2\nrecord-3-unsynced\n');
    // Five write steps, six write calls: the second step took two.
    expect(readStats(stats).rules.find((rule) => rule.name === 'writes')).toMatchObject({ matches: 6, fired: 0 });
  });

  it('a short write followed by ENOSPC, as a filling disk does it, is what Node sees as a short count', () => {
    const dir = freshTree();
    const steps = runProgram(dir, { FS_SHIM_FAULTS: `op=write path=${dir}/ nth=2 short=4; op=write path=${dir}/ from=3 errno=ENOSPC` });
    expect(steps['append-1']).toEqual({ value: 9 });
    expect(steps['append-2']).toEqual({ value: 4 });
    expect(steps['append-3']).toEqual({ code: 'ENOSPC' });
    expect(steps['write-temp']).toEqual({ code: 'ENOSPC' });
    expect(read(dir, 'journal')).toBe('record-0\nrecord-1\nreco');
  });

  it('fails fdatasync with EIO', () => {
    const dir = freshTree();
    const steps = runProgram(dir, { FS_SHIM_FAULTS: 'op=fdatasync path=*/journal errno=EIO' });
    expect(steps['fdatasync']).toEqual({ code: 'EIO' });
    expect(steps['fsync-temp']).toEqual({ value: null });
  });

  it('fails the rename and leaves both files as they were', () => {
    const dir = freshTree();
    const steps = runProgram(dir, { FS_SHIM_FAULTS: `op=rename path=${dir}/state errno=EIO` });
    expect(steps['rename']).toEqual({ code: 'EIO' });
    expect(read(dir, 'state')).toBe('state v1\n');
    expect(read(dir, 'state.tmp')).toBe('state v2\n');
  });

  it('counts the matching calls, then fails each of them in turn', () => {
    const counted = freshTree();
    const stats = `${counted}.stats`;
    runProgram(counted, { FS_SHIM_FAULTS: `name=writes op=write path=${counted}/`, FS_SHIM_STATS: stats });
    const writes = readStats(stats).rules[0]?.matches ?? 0;
    expect(writes).toBe(WRITE_STEPS.length);
    for (let nth = 1; nth <= writes; nth++) {
      const dir = freshTree();
      const steps = runProgram(dir, { FS_SHIM_FAULTS: `op=write path=${dir}/ nth=${nth} errno=EIO` });
      const failed = WRITE_STEPS.filter((name) => 'code' in (steps[name] ?? { value: null }));
      expect(failed, `fault on write ${nth}`).toEqual([WRITE_STEPS[nth - 1]]);
    }
  });

  it('arms a fault in a running process through the control file, counting from then on', async () => {
    const dir = freshTree();
    const control = `${dir}.control`;
    const stats = `${dir}.stats`;
    const child = spawn(process.execPath, [program, dir, 'pause'], { env: shimEnv({ FS_SHIM_CONTROL: control, FS_SHIM_STATS: stats }) });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('paused\n')) resolve();
      }),
    );
    writeControl(control, `# the first journal write from now\nname=armed op=write path=${dir}/journal nth=1 errno=EIO\n`);
    child.stdin.end('x');
    expect(await exited, stderr).toBe(0);
    const steps = parseSteps(stdout);
    expect(steps['append-2']).toEqual({ value: 9 });
    expect(steps['append-3']).toEqual({ code: 'EIO' });
    expect(readStats(stats)).toMatchObject({ controlError: null, rules: [{ name: 'armed', source: 'control', matches: 1, fired: 1 }] });
  });

  it('acts in the node a launcher starts, not in the launcher', () => {
    const dir = freshTree();
    const result = spawnSync('timeout', ['60', process.execPath, program, dir], {
      env: shimEnv({ FS_SHIM_FAULTS: `op=write path=${dir}/ nth=1 errno=EIO` }),
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
    expect(parseSteps(result.stdout)['append-1']).toEqual({ code: 'EIO' });
  });

  it('refuses a rule it does not understand, at start', () => {
    const result = spawnSync(process.execPath, ['-e', ''], { env: shimEnv({ FS_SHIM_FAULTS: 'op=write short=half errno=EIO' }), encoding: 'utf8' });
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('errno= and short= exclude each other');
  });
});

function recordRun(dir: string, settings: Record<string, string> = {}, phases: readonly string[] = []): ShimRecord[] {
  const log = `${dir}.record`;
  runProgram(dir, { FS_SHIM_RECORD_LOG: log, FS_SHIM_RECORD_PREFIX: dir, ...settings }, phases);
  return readShimRecord(log);
}

describe('fs-shim record', () => {
  it('records each call under the prefix, in order, with offsets, data and the libc entry point', () => {
    const dir = freshTree();
    const records = recordRun(dir);
    const name = (path: string): string => (path === dir ? '.' : path.slice(dir.length + 1));
    const summary = records.map((r) => {
      switch (r.op) {
        case 'open':
          return [r.fn, 'open', name(r.path), r.flags.join('|'), r.created ?? null, r.dir ?? null];
        case 'write':
          return [r.fn, 'write', name(r.path), r.offset, r.bytes.toString()];
        case 'fsync':
        case 'fdatasync':
          return [r.fn, r.op, name(r.path), r.dir];
        case 'rename':
          return [r.fn, 'rename', name(r.path), name(r.newPath)];
        default:
          return [r.fn, r.op, name(r.path)];
      }
    });
    expect(summary).toEqual([
      ['open64', 'open', 'journal', 'O_WRONLY|O_CREAT|O_APPEND', false, false],
      ['write', 'write', 'journal', 9, 'record-1\n'],
      ['write', 'write', 'journal', 18, 'record-2\n'],
      ['fdatasync', 'fdatasync', 'journal', false],
      ['write', 'write', 'journal', 27, 'record-3-unsynced\n'],
      ['syscall(SYS_close)', 'close', 'journal'],
      ['open64', 'open', 'state.tmp', 'O_WRONLY|O_CREAT|O_TRUNC', true, false],
      ['write', 'write', 'state.tmp', 0, 'state v2\n'],
      ['fsync', 'fsync', 'state.tmp', false],
      ['syscall(SYS_close)', 'close', 'state.tmp'],
      ['rename', 'rename', 'state.tmp', 'state'],
      ['open64', 'open', '.', 'O_RDONLY', null, true],
      ['fsync', 'fsync', '.', true],
      ['syscall(SYS_close)', 'close', '.'],
      ['open64', 'open', 'late', 'O_WRONLY|O_CREAT|O_TRUNC', true, false],
      ['write', 'write', 'late', 0, 'late\n'],
      ['fsync', 'fsync', 'late', false],
      ['syscall(SYS_close)', 'close', 'late'],
    ]);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    expect(records.every((r) => r.ret >= 0 && r.injected === undefined)).toBe(true);
  });

  it('orders concurrent threadpool writes by their system calls, with io_uring asked for and refused', () => {
    const dir = freshTree();
    const records = recordRun(dir, { UV_USE_IO_URING: '1' }, ['concurrent']);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    const writes = records.filter((r): r is Extract<ShimRecord, { op: 'write' }> => r.op === 'write' && r.path.includes('/concurrent-'));
    expect(writes).toHaveLength(32);
    // Written by libuv's threadpool, not on the main thread nor by an io_uring.
    expect(writes.every((w) => w.tid !== w.pid)).toBe(true);
    for (let file = 0; file < 4; file++) {
      const path = join(dir, `concurrent-${file}`);
      const content = readFileSync(path);
      let end = 0;
      for (const w of writes.filter((r) => r.path === path)) {
        // O_APPEND: each write lands where the previous one ended, and the bytes there are its own.
        expect(w.offset).toBe(end);
        expect(content.subarray(w.offset, w.offset + w.len)).toEqual(w.bytes);
        end += w.len;
      }
      expect(end).toBe(content.length);
    }
    expect(records.filter((r) => r.op === 'fdatasync' && r.path.includes('/concurrent-'))).toHaveLength(4);
  });
});

describe('crash states', () => {
  it('gives the states a power cut could leave, and none that loses synced data', () => {
    const dir = freshTree();
    const snapshot = join(work, 'crash-snapshot');
    snapshotTree(dir, snapshot);
    const records = recordRun(dir);
    const seqOf = (op: string, path: string): number => {
      const found = records.find((r) => r.op === op && r.path === join(dir, path));
      if (!found) throw new Error(`no ${op} of ${path} in the record`);
      return found.seq;
    };
    const datasynced = seqOf('fdatasync', 'journal');
    const appended = records.filter((r) => r.op === 'write' && r.path === join(dir, 'journal')).map((r) => r.seq)[2] ?? 0;
    const renamed = seqOf('rename', 'state.tmp');
    const dirSynced = seqOf('fsync', '.');
    const lateSynced = seqOf('fsync', 'late');

    const model = buildCrashModel({ root: dir, snapshot, records });
    const observed: { lastSeq: number; journal: string | null; state: string | null; temp: string | null; late: string | null; description: string }[] = [];
    const distinct = [...crashStates(model)].length;
    for (const state of crashStates(model, { perCrashPoint: true })) {
      const into = join(work, 'crash-states', String(observed.length));
      materializeCrashState(model, state, into);
      observed.push({
        lastSeq: state.lastSeq,
        journal: read(into, 'journal'),
        state: read(into, 'state'),
        temp: read(into, 'state.tmp'),
        late: read(into, 'late'),
        description: state.description,
      });
      rmSync(into, { recursive: true });
    }

    const synced = 'record-0\nrecord-1\nrecord-2\n';
    expect(distinct).toBeGreaterThan(10);
    expect(distinct).toBeLessThan(observed.length);
    expect(observed.length).toBeLessThan(200);
    // The rename issued but lost, with or without the temp file's name.
    expect(observed.some((s) => s.lastSeq >= renamed && s.state === 'state v1\n' && s.temp === null)).toBe(true);
    expect(observed.some((s) => s.lastSeq >= renamed && s.state === 'state v1\n' && s.temp === 'state v2\n')).toBe(true);
    // The unsynced tail: lost at the record boundary, or torn inside the record.
    expect(observed.some((s) => s.lastSeq >= appended && s.journal === synced)).toBe(true);
    expect(observed.some((s) => s.lastSeq >= appended && s.journal === `${synced}record-3-`)).toBe(true);
    expect(observed.some((s) => s.journal === `${synced}record-3-unsynced\n`)).toBe(true);
    // A file fsync'd but never its directory: its name may be lost even at the end.
    expect(observed.some((s) => s.lastSeq === lateSynced && s.late === null)).toBe(true);
    expect(observed.some((s) => s.lastSeq < lateSynced && s.late === '')).toBe(true);

    for (const s of observed) {
      if (s.lastSeq >= datasynced) expect(s.journal?.startsWith(synced), s.description).toBe(true);
      expect(['state v1\n', 'state v2\n'], s.description).toContain(s.state);
      if (s.lastSeq >= dirSynced) expect([s.state, s.temp], s.description).toEqual(['state v2\n', null]);
      if (s.lastSeq >= lateSynced) expect([null, 'late\n'], s.description).toContain(s.late);
    }
  });
});
