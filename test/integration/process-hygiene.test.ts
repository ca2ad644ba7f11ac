/**
 * What the server's workers start with, looked at from /proc while a real
 * server runs: their own account with no other group, an empty environment,
 * not dumpable (another process of the same uid can neither trace them nor
 * read their memory), and none of the descriptors the server was started
 * with: secret files left open by whoever started it, low and high, never
 * reach them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeServerFixture, removeFixture, RunningServer, SERVER_BIN, type ServerFixture } from '../helpers/ca-server.js';
import { descriptors, dumpable, processTree, statusField, type ProcessFacts } from '../helpers/processes.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { systemUser, type SystemUser } from '../helpers/users.js';

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;
let stray: string;
let workers: { parser: ProcessFacts; signer: ProcessFacts };

/** PTRACE_ATTACH then PTRACE_DETACH, as `user`: the errno of the attach (0 when it worked). */
function ptraceAs(user: SystemUser, pid: number): number {
  const script = `import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
r = libc.ptrace(16, ${pid}, None, None)
e = ctypes.get_errno()
if r == 0:
    import os
    os.waitpid(${pid}, 0)
    libc.ptrace(17, ${pid}, None, None)
print(0 if r == 0 else e)`;
  const run = spawnSync('python3', ['-c', script], { uid: user.uid, gid: user.gid, encoding: 'utf8' });
  return Number(run.stdout.trim());
}

function readAs(user: SystemUser, path: string): { code: number | null; stderr: string } {
  const run = spawnSync('cat', [path], { uid: user.uid, gid: user.gid, encoding: 'utf8' });
  return { code: run.status, stderr: run.stderr };
}

beforeAll(async () => {
  token = createTestToken({ label: `hygiene-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  fixture = makeServerFixture(token);
  stray = join(fixture.dir, 'left-open-by-the-starter');
  writeFileSync(stray, 'a secret of whoever started the server\n', { mode: 0o600 });
  // Descriptors the server inherits without being meant to: fd 4, which Node marks close-on-exec itself, and fd 30, which it does not.
  const leaked = openSync(stray, 'r');
  const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe', 'pipe', leaked, ...Array<'ignore'>(25).fill('ignore'), leaked];
  const child = spawn(SERVER_BIN, ['--config', fixture.configPath, '--pin-fd', '3'], { stdio });
  const pin = child.stdio[3] as Writable;
  pin.on('error', () => undefined);
  pin.end(`${token.pin}\n`);
  server = new RunningServer(fixture, child);
  await server.waitFor('pin.accepted');
  const tree = processTree(child.pid!);
  const by = (uid: number): ProcessFacts => tree.find((p) => statusField(p.pid, 'Uid').split(/\s+/)[0] === String(uid))!;
  workers = { parser: by(systemUser('caparse').uid), signer: by(systemUser('causer').uid) };
});

afterAll(async () => {
  await server?.stop();
  token?.cleanup();
  if (fixture) removeFixture(fixture);
});

describe.each(['parser', 'signer'] as const)('the %s', (which) => {
  const account = (): SystemUser => systemUser(which === 'parser' ? 'caparse' : 'causer');

  it('runs as its account alone: real, effective, saved and filesystem ids, and no supplementary group but its own', () => {
    const { pid } = workers[which];
    const { uid, gid } = account();
    expect(statusField(pid, 'Uid')).toBe(`${uid}\t${uid}\t${uid}\t${uid}`);
    expect(statusField(pid, 'Gid')).toBe(`${gid}\t${gid}\t${gid}\t${gid}`);
    expect(['', String(gid)]).toContain(statusField(pid, 'Groups'));
  });

  it('has an empty environment', () => {
    expect(readFileSync(`/proc/${workers[which].pid}/environ`, 'latin1')).toBe('');
  });

  it('is not dumpable: a process of the same uid can neither trace it nor read its memory, though one that is dumpable can be traced', () => {
    const { pid } = workers[which];
    expect(dumpable(pid)).toBe(false);
    expect(ptraceAs(account(), pid)).toBe(1); // EPERM
    expect(readAs(account(), `/proc/${pid}/environ`).stderr).toMatch(/Permission denied/);
    const control = spawn('sleep', ['30'], { uid: account().uid, gid: account().gid });
    try {
      expect(ptraceAs(account(), control.pid!)).toBe(0);
    } finally {
      control.kill('SIGKILL');
    }
  });

  it('never holds a descriptor the server was started with', () => {
    const open = [...descriptors(workers[which].pid).values()];
    expect(open).not.toContain(stray);
    expect(open.filter((target) => target.startsWith('/') && !target.startsWith(token.tokenDir) && target !== '/dev/null')).toEqual([]);
  });
});

it('the supervisor closed the inherited descriptor that every child would otherwise get (the low one is close-on-exec)', () => {
  const onStray = [...descriptors(server.child.pid!)].filter(([, target]) => target === stray).map(([fd]) => fd);
  expect(onStray).toEqual([4]);
});
