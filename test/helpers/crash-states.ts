/**
 * Crash states from a record of the file-system shim (test/fs-shim): every
 * tree a power cut during the recorded run could have left under the
 * recorded root, in the manner of ALICE (Pillai et al., OSDI 2014).
 *
 * The persistence model, a conservative reading of ext4 (data=ordered):
 *
 * - Operations. The record becomes a list of tree operations in issue
 *   order: directory operations (create, mkdir, symlink, link, rename,
 *   unlink, rmdir), data operations (write, truncate, including the
 *   truncation by O_TRUNC) and barriers (fsync or fdatasync of a file,
 *   fsync of a directory). Failed calls changed nothing and are dropped; a
 *   short write counts for the bytes it wrote.
 * - Durability. A data operation on a file is durable once that file is
 *   fsync'd or fdatasync'd after it (at once when the descriptor was opened
 *   O_SYNC or O_DSYNC). A directory operation is durable once every
 *   directory it changes (both parents of a rename) is fsync'd after it; an
 *   fsync of the file does not make its name durable. Durable operations
 *   are in every state after their barrier.
 * - Crash points. A crash happens after each operation (or, with
 *   crashPoints 'syncs', just before each barrier and at the end); the
 *   operations issued by then and not durable are pending.
 * - Pending directory operations persist or not each on its own, except
 *   that one persists only with the pending operations before it on a
 *   related name (the same name, or an ancestor or descendant of it): a
 *   rename of a.tmp persists only with the create of a.tmp. With more than
 *   maxIndependentDirOps of them, they persist as an in-order prefix.
 * - Pending data operations of a file persist as an in-order prefix, at
 *   write granularity, plus one state in which the file's last pending
 *   write is torn: its first half persisted. Files vary independently;
 *   when the combinations at one crash point exceed maxCombinations, all
 *   files are cut at one common point of the issue order instead.
 * - Files that no persisted name reaches do not vary, and states that
 *   persist the same operations are given once, at the first crash point
 *   that can leave them (or once per crash point, with perCrashPoint).
 *
 * A state lists the operations that persisted; materializeCrashState copies
 * the snapshot taken before the run and replays them. A persisted operation
 * whose name's parent or source is missing in the replay is dropped: what
 * it needed did not persist.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

interface RecordBase {
  readonly seq: number;
  readonly pid: number;
  readonly tid: number;
  /** The libc entry point the call came through: "open64", "pwritev64", "syscall(SYS_close)". */
  readonly fn: string;
  readonly path: string;
  readonly ret: number;
  readonly errno?: string;
  /** The shim's doing: the errno name it failed the call with, or "short". */
  readonly injected?: string;
}

/** One line of the shim's record (README.md in test/fs-shim), writes with their bytes. */
export type ShimRecord =
  | (RecordBase & {
      readonly op: 'open';
      readonly fd: number;
      readonly flags: readonly string[];
      readonly created?: boolean;
      readonly mode?: number;
      readonly dir?: boolean;
    })
  | (RecordBase & { readonly op: 'close'; readonly fd: number })
  | (RecordBase & { readonly op: 'dup'; readonly fd: number; readonly newFd: number })
  | (RecordBase & {
      readonly op: 'write';
      readonly fd: number;
      readonly offset: number;
      readonly len: number;
      readonly requested: number;
      readonly bytes: Buffer;
    })
  | (RecordBase & { readonly op: 'ftruncate'; readonly fd: number; readonly length: number })
  | (RecordBase & { readonly op: 'fsync' | 'fdatasync'; readonly fd: number; readonly dir: boolean })
  | (RecordBase & { readonly op: 'rename' | 'link'; readonly newPath: string; readonly flags?: number })
  | (RecordBase & { readonly op: 'symlink'; readonly target: string })
  | (RecordBase & { readonly op: 'unlink' | 'rmdir' })
  | (RecordBase & { readonly op: 'mkdir'; readonly mode?: number });

const RECORD_OPS = new Set(['open', 'close', 'dup', 'write', 'ftruncate', 'fsync', 'fdatasync', 'rename', 'link', 'symlink', 'unlink', 'rmdir', 'mkdir']);

/** Reads the shim's record (FS_SHIM_RECORD_LOG) with the bytes of every write from its data file. */
export function readShimRecord(logPath: string, dataPath = `${logPath}.data`): ShimRecord[] {
  const data = readFileSync(dataPath);
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const raw = JSON.parse(line) as { op?: unknown; seq?: unknown; len?: number; data?: number };
      if (typeof raw.op !== 'string' || !RECORD_OPS.has(raw.op) || typeof raw.seq !== 'number') {
        throw new Error(`not a record of the shim: ${line}`);
      }
      if (raw.op !== 'write') return raw as ShimRecord;
      const len = raw.len ?? 0;
      const start = raw.data ?? 0;
      if (start + len > data.length) throw new Error(`record ${raw.seq}: its ${len} bytes lie past the end of ${dataPath}`);
      return { ...raw, bytes: data.subarray(start, start + len) } as ShimRecord;
    });
}

/** Copies a tree as it is (modes, owners, links) into a new directory: the snapshot a crash model starts from. */
export function snapshotTree(tree: string, into: string): void {
  mkdirSync(into, { recursive: true });
  execFileSync('cp', ['-a', '--', `${tree}/.`, into]);
}

/** Paths are relative to the recorded root; '' is the root itself. */
export type TreeOperation =
  | { readonly kind: 'create'; readonly seq: number; readonly path: string; readonly inode: number; readonly mode: number; readonly parents: readonly number[] }
  | { readonly kind: 'mkdir'; readonly seq: number; readonly path: string; readonly inode: number; readonly mode: number; readonly parents: readonly number[] }
  | { readonly kind: 'symlink'; readonly seq: number; readonly path: string; readonly inode: number; readonly target: string; readonly parents: readonly number[] }
  | { readonly kind: 'link'; readonly seq: number; readonly path: string; readonly newPath: string; readonly inode: number; readonly parents: readonly number[] }
  | { readonly kind: 'rename'; readonly seq: number; readonly path: string; readonly newPath: string; readonly parents: readonly number[] }
  | { readonly kind: 'unlink' | 'rmdir'; readonly seq: number; readonly path: string; readonly parents: readonly number[] }
  | { readonly kind: 'write'; readonly seq: number; readonly path: string; readonly inode: number; readonly offset: number; readonly data: Buffer; readonly synchronous: boolean }
  | { readonly kind: 'truncate'; readonly seq: number; readonly path: string; readonly inode: number; readonly length: number; readonly synchronous: boolean }
  | { readonly kind: 'fsync'; readonly seq: number; readonly path: string; readonly inode: number }
  | { readonly kind: 'dirsync'; readonly seq: number; readonly path: string; readonly inode: number };

type DirOperation = Extract<TreeOperation, { parents: readonly number[] }>;
type DataOperation = Extract<TreeOperation, { kind: 'write' | 'truncate' }>;

export interface CrashModel {
  /** The recorded root (FS_SHIM_RECORD_PREFIX), absolute. */
  readonly root: string;
  /** Its copy taken before the recorded run. */
  readonly snapshot: string;
  /** The snapshot's names and the inode numbers the model gives them (hard links share one). */
  readonly initial: ReadonlyMap<string, number>;
  readonly operations: readonly TreeOperation[];
}

function isDirOperation(op: TreeOperation): op is DirOperation {
  return 'parents' in op;
}

function isDataOperation(op: TreeOperation): op is DataOperation {
  return op.kind === 'write' || op.kind === 'truncate';
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function isWithin(path: string, ancestor: string): boolean {
  return path === ancestor || ancestor === '' || path.startsWith(`${ancestor}/`);
}

/** Moves a name and everything under it, as rename does. */
function moveNames(names: Map<string, number>, from: string, to: string): void {
  removeNames(names, to);
  for (const [path, inode] of [...names]) {
    if (!isWithin(path, from)) continue;
    names.delete(path);
    names.set(to + path.slice(from.length), inode);
  }
}

function removeNames(names: Map<string, number>, path: string): void {
  for (const name of [...names.keys()]) if (isWithin(name, path)) names.delete(name);
}

function scanSnapshot(snapshot: string): Map<string, number> {
  const names = new Map<string, number>();
  const inodes = new Map<string, number>();
  const visit = (rel: string): void => {
    const st = lstatSync(rel === '' ? snapshot : join(snapshot, rel), { bigint: true });
    const key = `${st.dev}:${st.ino}`;
    const inode = inodes.get(key) ?? inodes.size + 1;
    inodes.set(key, inode);
    names.set(rel, inode);
    if (!st.isDirectory()) return;
    for (const entry of readdirSync(rel === '' ? snapshot : join(snapshot, rel)).sort()) visit(rel === '' ? entry : `${rel}/${entry}`);
  };
  visit('');
  return names;
}

/**
 * Turns a record into the operations on the tree under root, following
 * descriptors to the files they were opened on (a write after a rename goes
 * to the renamed file). Records outside root are ignored.
 */
export function buildCrashModel(input: { readonly root: string; readonly snapshot: string; readonly records: readonly ShimRecord[] }): CrashModel {
  const root = input.root.replace(/\/+$/, '');
  const initial = scanSnapshot(input.snapshot);
  const names = new Map(initial);
  let nextInode = Math.max(0, ...initial.values()) + 1;
  const descriptors = new Map<number, { readonly inode: number; readonly path: string; readonly synchronous: boolean }>();
  const operations: TreeOperation[] = [];

  const inside = (path: string): boolean => path === root || path.startsWith(`${root}/`);
  const relative = (path: string): string => (path === root ? '' : path.slice(root.length + 1));
  const inodeAt = (path: string, seq: number): number => {
    const inode = names.get(path);
    if (inode === undefined) throw new Error(`record ${seq}: ${path || '.'} is neither in the snapshot nor made by the run`);
    return inode;
  };
  const parentInode = (path: string, seq: number): number => inodeAt(parentOf(path), seq);
  const descriptor = (fd: number, seq: number) => {
    const open = descriptors.get(fd);
    if (!open) throw new Error(`record ${seq}: descriptor ${fd} has no recorded open`);
    return open;
  };

  for (const record of [...input.records].sort((a, b) => a.seq - b.seq)) {
    if (record.ret < 0) continue;
    const newPath = record.op === 'rename' || record.op === 'link' ? record.newPath : undefined;
    if (newPath !== undefined && inside(record.path) !== inside(newPath)) {
      throw new Error(`record ${record.seq}: ${record.op} across the edge of ${root} is not modelled`);
    }
    if (!inside(record.path)) continue;
    const path = relative(record.path);
    const seq = record.seq;
    switch (record.op) {
      case 'open': {
        const synchronous = record.flags.includes('O_SYNC') || record.flags.includes('O_DSYNC');
        if (record.created) {
          const inode = nextInode++;
          operations.push({ kind: 'create', seq, path, inode, mode: record.mode ?? 0o644, parents: [parentInode(path, seq)] });
          names.set(path, inode);
          descriptors.set(record.fd, { inode, path, synchronous });
          break;
        }
        const inode = inodeAt(path, seq);
        if (record.flags.includes('O_TRUNC') && !record.dir) operations.push({ kind: 'truncate', seq, path, inode, length: 0, synchronous });
        descriptors.set(record.fd, { inode, path, synchronous });
        break;
      }
      case 'close':
        descriptors.delete(record.fd);
        break;
      case 'dup':
        descriptors.set(record.newFd, descriptor(record.fd, seq));
        break;
      case 'write': {
        const open = descriptor(record.fd, seq);
        if (record.len > 0) operations.push({ kind: 'write', seq, path: open.path, inode: open.inode, offset: record.offset, data: record.bytes, synchronous: open.synchronous });
        break;
      }
      case 'ftruncate': {
        const open = descriptor(record.fd, seq);
        operations.push({ kind: 'truncate', seq, path: open.path, inode: open.inode, length: record.length, synchronous: open.synchronous });
        break;
      }
      case 'fsync':
      case 'fdatasync': {
        const open = descriptor(record.fd, seq);
        operations.push({ kind: record.dir ? 'dirsync' : 'fsync', seq, path: open.path, inode: open.inode });
        break;
      }
      case 'rename': {
        const to = relative(record.newPath);
        const parents = [...new Set([parentInode(path, seq), parentInode(to, seq)])];
        operations.push({ kind: 'rename', seq, path, newPath: to, parents });
        moveNames(names, path, to);
        break;
      }
      case 'link': {
        const to = relative(record.newPath);
        const inode = inodeAt(path, seq);
        operations.push({ kind: 'link', seq, path, newPath: to, inode, parents: [parentInode(to, seq)] });
        names.set(to, inode);
        break;
      }
      case 'symlink': {
        const inode = nextInode++;
        operations.push({ kind: 'symlink', seq, path, inode, target: record.target, parents: [parentInode(path, seq)] });
        names.set(path, inode);
        break;
      }
      case 'mkdir': {
        const inode = nextInode++;
        operations.push({ kind: 'mkdir', seq, path, inode, mode: record.mode ?? 0o755, parents: [parentInode(path, seq)] });
        names.set(path, inode);
        break;
      }
      case 'unlink':
      case 'rmdir':
        operations.push({ kind: record.op, seq, path, parents: [parentInode(path, seq)] });
        removeNames(names, path);
        break;
    }
  }
  return { root, snapshot: input.snapshot, initial, operations };
}

export interface CrashStateOptions {
  /** Where crashes happen: after every operation (default), or just before each barrier and at the end. */
  readonly crashPoints?: 'every-operation' | 'syncs';
  /** Up to this many pending directory operations persist independently; more persist as an in-order prefix. Default 4. */
  readonly maxIndependentDirOps?: number;
  /** Above this many states at one crash point, all files' pending data is cut at one common point. Default 256. */
  readonly maxCombinations?: number;
  /** Give a state at every crash point that can leave it, not only at the first. Default false: each distinct state once. */
  readonly perCrashPoint?: boolean;
}

export interface TornWrite {
  /** Index in the model's operations of a write that persisted only in part. */
  readonly operation: number;
  /** How many of its first bytes persisted. */
  readonly bytes: number;
}

export interface CrashState {
  /** How many of the model's operations had been issued when the power went. */
  readonly issued: number;
  /** The record's sequence number of the last of them, 0 when none. */
  readonly lastSeq: number;
  /** Indices of the operations that persisted, ascending; a torn write is among them and persisted in part. */
  readonly persisted: readonly number[];
  readonly torn: readonly TornWrite[];
  /** What the crash lost, for a failing test's message. */
  readonly description: string;
}

interface Pending {
  readonly durable: readonly number[];
  readonly dirOps: readonly number[];
  readonly dataByInode: ReadonlyMap<number, readonly number[]>;
}

/** What is durable and what is pending when the first `issued` operations have been issued. */
function pendingAt(operations: readonly TreeOperation[], issued: number): Pending {
  const syncedFiles = new Set<number>();
  const syncedDirs = new Set<number>();
  const durable: number[] = [];
  const dirOps: number[] = [];
  const dataByInode = new Map<number, number[]>();
  for (let i = issued - 1; i >= 0; i--) {
    const op = operations[i];
    if (!op) continue;
    if (op.kind === 'fsync') syncedFiles.add(op.inode);
    else if (op.kind === 'dirsync') syncedDirs.add(op.inode);
    else if (isDataOperation(op)) {
      if (op.synchronous || syncedFiles.has(op.inode)) durable.push(i);
      else dataByInode.set(op.inode, [i, ...(dataByInode.get(op.inode) ?? [])]);
    } else if (op.parents.every((parent) => syncedDirs.has(parent))) durable.push(i);
    else dirOps.unshift(i);
  }
  return { durable: durable.reverse(), dirOps, dataByInode };
}

function namesOf(op: DirOperation): string[] {
  return op.kind === 'rename' || op.kind === 'link' ? [op.path, op.newPath] : [op.path];
}

function related(a: DirOperation, b: DirOperation): boolean {
  return namesOf(a).some((x) => namesOf(b).some((y) => isWithin(x, y) || isWithin(y, x)));
}

/** The subsets of the pending directory operations that may have persisted. */
function dirChoices(operations: readonly TreeOperation[], pending: readonly number[], maxIndependent: number): number[][] {
  if (pending.length > maxIndependent) return pending.map((_, n) => pending.slice(0, n)).concat([[...pending]]);
  const ops = pending.map((i) => operations[i] as DirOperation);
  const needs = ops.map((op, k) => ops.slice(0, k).flatMap((earlier, j) => (related(earlier, op) ? [j] : [])));
  const choices: number[][] = [];
  for (let mask = 0; mask < 1 << pending.length; mask++) {
    const chosen = (k: number): boolean => (mask & (1 << k)) !== 0;
    if (needs.every((deps, k) => !chosen(k) || deps.every(chosen))) choices.push(pending.filter((_, k) => chosen(k)));
  }
  return choices;
}

/** The inodes that some name reaches once the given directory operations have been applied to the snapshot. */
function reachableInodes(model: CrashModel, dirOps: readonly number[]): Set<number> {
  const names = new Map(model.initial);
  for (const i of dirOps) applyToNames(names, model.operations[i] as DirOperation);
  return new Set(names.values());
}

/** The effect of one directory operation on the names, or false when what it needs did not persist. */
function applyToNames(names: Map<string, number>, op: DirOperation): boolean {
  const parentExists = (path: string): boolean => names.has(parentOf(path));
  switch (op.kind) {
    case 'create':
    case 'mkdir':
    case 'symlink':
      if (!parentExists(op.path)) return false;
      removeNames(names, op.path);
      names.set(op.path, op.inode);
      return true;
    case 'link':
      if (!names.has(op.path) || !parentExists(op.newPath)) return false;
      removeNames(names, op.newPath);
      names.set(op.newPath, op.inode);
      return true;
    case 'rename':
      if (!names.has(op.path) || !parentExists(op.newPath)) return false;
      if (op.path !== op.newPath) moveNames(names, op.path, op.newPath);
      return true;
    case 'unlink':
    case 'rmdir':
      if (!names.has(op.path)) return false;
      removeNames(names, op.path);
      return true;
  }
}

interface DataCut {
  readonly kept: readonly number[];
  readonly torn?: TornWrite;
}

/** A file's pending data as it may have persisted: each in-order prefix, and its last write torn in half. */
function dataCuts(operations: readonly TreeOperation[], pending: readonly number[]): DataCut[] {
  const cuts: DataCut[] = pending.map((_, n) => ({ kept: pending.slice(0, n) })).concat([{ kept: [...pending] }]);
  const last = pending[pending.length - 1];
  const op = last === undefined ? undefined : operations[last];
  if (last !== undefined && op?.kind === 'write' && op.data.length >= 2) {
    cuts.push({ kept: pending.slice(0, -1), torn: { operation: last, bytes: Math.floor(op.data.length / 2) } });
  }
  return cuts;
}

function* product(lists: readonly (readonly DataCut[])[]): Generator<DataCut[]> {
  const [first, ...rest] = lists;
  if (!first) {
    yield [];
    return;
  }
  for (const cut of first) for (const tail of product(rest)) yield [cut, ...tail];
}

function describeOperation(op: TreeOperation): string {
  switch (op.kind) {
    case 'rename':
    case 'link':
      return `${op.kind} ${op.path} -> ${op.newPath}`;
    case 'write':
      return `write ${op.data.length} B at ${op.offset} of ${op.path}`;
    case 'truncate':
      return `truncate ${op.path} to ${op.length}`;
    default:
      return `${op.kind} ${op.path}`;
  }
}

function describe(model: CrashModel, issued: number, lost: readonly number[], torn: readonly TornWrite[]): string {
  const last = model.operations[issued - 1];
  const head = last ? `crash after #${last.seq} (${describeOperation(last)})` : 'crash before any operation';
  const parts = lost.map((i) => `lost ${describeOperation(model.operations[i] as TreeOperation)}`);
  for (const t of torn) parts.push(`torn ${describeOperation(model.operations[t.operation] as TreeOperation)} after ${t.bytes} B`);
  return parts.length ? `${head}: ${parts.join('; ')}` : `${head}: nothing lost`;
}

/** Every distinct crash state of the model, crash point by crash point. */
export function* crashStates(model: CrashModel, options: CrashStateOptions = {}): Generator<CrashState> {
  const maxIndependent = options.maxIndependentDirOps ?? 4;
  const maxCombinations = options.maxCombinations ?? 256;
  const ops = model.operations;
  const points =
    options.crashPoints === 'syncs'
      ? [...ops.flatMap((op, i) => (op.kind === 'fsync' || op.kind === 'dirsync' ? [i] : [])), ops.length]
      : ops.map((_, i) => i).concat([ops.length]);
  const seen = new Set<string>();
  for (const issued of points) {
    if (options.perCrashPoint) seen.clear();
    const pending = pendingAt(ops, issued);
    for (const dirs of dirChoices(ops, pending.dirOps, maxIndependent)) {
      const named = [...pending.durable.filter((i) => isDirOperation(ops[i] as TreeOperation)), ...dirs].sort((a, b) => a - b);
      const reachable = reachableInodes(model, named);
      const varying = [...pending.dataByInode].filter(([inode]) => reachable.has(inode)).map(([, list]) => list);
      const perFile = varying.map((list) => dataCuts(ops, list));
      const combinations = perFile.reduce((n, cuts) => n * cuts.length, 1);
      const choices: Iterable<DataCut[]> =
        combinations <= maxCombinations ? product(perFile) : dataCuts(ops, varying.flat().sort((a, b) => a - b)).map((cut) => [cut]);
      const durableData = pending.durable.filter((i) => {
        const op = ops[i] as TreeOperation;
        return isDataOperation(op) && reachable.has(op.inode);
      });
      for (const cuts of choices) {
        const torn = cuts.flatMap((cut) => (cut.torn ? [cut.torn] : []));
        const persisted = [...named, ...durableData, ...cuts.flatMap((cut) => cut.kept), ...torn.map((t) => t.operation)].sort((a, b) => a - b);
        const key = createHash('sha1').update(JSON.stringify([persisted, torn])).digest('hex');
        if (seen.has(key)) continue;
        seen.add(key);
        const kept = new Set(persisted);
        const lost = [...pending.dirOps, ...varying.flat()].filter((i) => !kept.has(i)).sort((a, b) => a - b);
        const last = ops[issued - 1];
        yield { issued, lastSeq: last?.seq ?? 0, persisted, torn, description: describe(model, issued, lost, torn) };
      }
    }
  }
}

/** Builds a state in dest (made here, must not exist): the snapshot, then the persisted operations replayed in order. */
export function materializeCrashState(model: CrashModel, state: CrashState, dest: string): void {
  snapshotTree(model.snapshot, dest);
  const names = new Map(model.initial);
  const tornBytes = new Map(state.torn.map((t) => [t.operation, t.bytes]));
  const at = (path: string): string => (path === '' ? dest : join(dest, path));
  const pathOf = (inode: number): string | undefined => [...names].find(([, id]) => id === inode)?.[0];
  for (const i of state.persisted) {
    const op = model.operations[i];
    if (!op) throw new Error(`operation ${i} is not in the model`);
    if (isDataOperation(op)) {
      const path = pathOf(op.inode);
      if (path === undefined) continue;
      if (op.kind === 'truncate') {
        truncateSync(at(path), op.length);
        continue;
      }
      const fd = openSync(at(path), 'r+');
      try {
        writeSync(fd, op.data, 0, tornBytes.get(i) ?? op.data.length, op.offset);
      } finally {
        closeSync(fd);
      }
      continue;
    }
    if (!isDirOperation(op)) continue;
    const target = op.kind === 'link' || op.kind === 'rename' ? op.newPath : op.path;
    const targetExisted = names.has(target);
    if (!applyToNames(names, op)) continue;
    switch (op.kind) {
      case 'create':
        rmSync(at(op.path), { recursive: true, force: true });
        writeFileSync(at(op.path), '');
        chmodSync(at(op.path), op.mode);
        break;
      case 'mkdir':
        rmSync(at(op.path), { recursive: true, force: true });
        mkdirSync(at(op.path));
        chmodSync(at(op.path), op.mode);
        break;
      case 'symlink':
        rmSync(at(op.path), { recursive: true, force: true });
        symlinkSync(op.target, at(op.path));
        break;
      case 'link':
        if (targetExisted) rmSync(at(op.newPath), { recursive: true, force: true });
        linkSync(at(op.path), at(op.newPath));
        break;
      case 'rename':
        if (op.path === op.newPath) break;
        // What the target held is gone either way; a directory there may hold entries whose unlinks were lost.
        if (targetExisted) rmSync(at(op.newPath), { recursive: true, force: true });
        renameSync(at(op.path), at(op.newPath));
        break;
      case 'unlink':
      case 'rmdir':
        rmSync(at(op.path), { recursive: true, force: true });
        break;
    }
  }
}
