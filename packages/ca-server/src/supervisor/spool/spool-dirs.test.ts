import { chownSync, chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkParents } from './spool-dirs.js';

// Runs as root, like the server: parents are handed to another uid to make them untrusted.
const OTHER_UID = 4242;
let base: string;

beforeEach(() => {
  base = mkdtempSync('/tmp/spool-parents-');
  chmodSync(base, 0o755);
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe.runIf(process.getuid?.() === 0)('checkParents', () => {
  it('accepts root-owned parents writable by root only, and sticky /tmp', () => {
    mkdirSync(join(base, 'var'), { mode: 0o755 });
    expect(() => checkParents(join(base, 'var', 'spool'))).not.toThrow();
  });

  it('refuses a parent owned by another user', () => {
    mkdirSync(join(base, 'var'), { mode: 0o755 });
    chownSync(join(base, 'var'), OTHER_UID, OTHER_UID);
    expect(() => checkParents(join(base, 'var', 'spool'))).toThrow(/must be root-owned/);
  });

  it('refuses a parent writable by group or others without the sticky bit', () => {
    mkdirSync(join(base, 'var'));
    chmodSync(join(base, 'var'), 0o775);
    expect(() => checkParents(join(base, 'var', 'spool'))).toThrow(/writable by root only/);
    chmodSync(join(base, 'var'), 0o1777);
    expect(() => checkParents(join(base, 'var', 'spool'))).not.toThrow();
  });

  it('refuses a parent that is a symlink', () => {
    mkdirSync(join(base, 'real'), { mode: 0o755 });
    symlinkSync(join(base, 'real'), join(base, 'link'));
    expect(() => checkParents(join(base, 'link', 'spool'))).toThrow(/symlink/);
  });
});
