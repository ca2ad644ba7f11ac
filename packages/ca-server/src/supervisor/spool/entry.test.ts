import { execFileSync } from 'node:child_process';
import { chownSync, lchownSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spoolLayout, type SpoolLayout } from '@etoken-ca/contract/core/spool';
import { readSpoolEntry } from './entry.js';

// Runs as root (like the server): files are chowned to a client uid.
const CLIENT = 4242;
const ID = 'a'.repeat(32);
const alive = { ownerAlive: () => true };

let dir: string;
let layout: SpoolLayout;

function publish(target = '123.456'): void {
  symlinkSync(target, join(layout.incoming, `${ID}.lock`));
  lchownSync(join(layout.incoming, `${ID}.lock`), CLIENT, CLIENT);
}

function request(content: string | Buffer = 'hello'): string {
  const path = join(layout.incoming, `${ID}.req`);
  writeFileSync(path, content);
  chownSync(path, CLIENT, CLIENT);
  return path;
}

const reason = (): string => {
  const e = readSpoolEntry(layout, ID, 1024, alive);
  return e.ok ? 'accepted' : e.reason;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spool-'));
  layout = spoolLayout(dir);
  mkdirSync(layout.incoming);
  mkdirSync(layout.answers);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(process.getuid?.() === 0)('readSpoolEntry', () => {
  it('reads a well-formed published request', () => {
    request('payload');
    publish();
    const e = readSpoolEntry(layout, ID, 1024, alive);
    expect(e).toMatchObject({ ok: true, uid: CLIENT, owner: { pid: 123, startTime: '456' } });
    if (e.ok) expect(e.bytes.toString()).toBe('payload');
  });

  it('refuses a request that is a symlink, to another request or outside', () => {
    writeFileSync(join(dir, 'secret'), 'root only');
    symlinkSync(join(dir, 'secret'), join(layout.incoming, `${ID}.req`));
    publish();
    expect(reason()).toMatch(/not a regular file/);
  });

  it('refuses a hard link to another file', () => {
    const other = join(dir, 'other');
    writeFileSync(other, 'x');
    chownSync(other, CLIENT, CLIENT);
    linkSync(other, join(layout.incoming, `${ID}.req`));
    publish();
    expect(reason()).toMatch(/more than one link/);
  });

  it('never blocks on a FIFO', () => {
    execFileSync('mkfifo', [join(layout.incoming, `${ID}.req`)]);
    publish();
    expect(reason()).toMatch(/not a regular file/);
  });

  it('refuses a directory, an oversize or empty file, and a foreign owner', () => {
    mkdirSync(join(layout.incoming, `${ID}.req`));
    publish();
    expect(reason()).toMatch(/not a regular file/);
    rmSync(join(layout.incoming, `${ID}.req`), { recursive: true });
    request(Buffer.alloc(2000, 0x41));
    expect(reason()).toMatch(/larger than 1024/);
    request('');
    expect(reason()).toMatch(/empty/);
    chownSync(request('x'), 0, 0);
    expect(reason()).toMatch(/different owners/);
  });

  it('checks the lock: a symlink naming a live process of its owner', () => {
    request();
    writeFileSync(join(layout.incoming, `${ID}.lock`), '123.456');
    expect(reason()).toMatch(/not a symlink/);
    rmSync(join(layout.incoming, `${ID}.lock`));
    publish('../../etc/passwd');
    expect(reason()).toMatch(/not pid.starttime/);
    rmSync(join(layout.incoming, `${ID}.lock`));
    publish();
    const dead = readSpoolEntry(layout, ID, 1024, { ownerAlive: () => false });
    expect(dead).toMatchObject({ ok: false, gone: true });
  });
});
