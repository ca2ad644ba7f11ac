import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readBoundedInput } from './read-input.js';

let dir: string | undefined;
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

function inputOf(bytes: number): number {
  dir = mkdtempSync(join(tmpdir(), 'read-input-'));
  writeFileSync(join(dir, 'in'), Buffer.alloc(bytes, 0x61));
  return openSync(join(dir, 'in'), 'r');
}

describe('readBoundedInput', () => {
  it('reads up to EOF when the input is within the bound', async () => {
    const fd = inputOf(1024);
    await expect(readBoundedInput(fd, 1024, new AbortController().signal)).resolves.toHaveLength(1024);
    closeSync(fd);
  });

  it('refuses one byte more than the bound with exit 65', async () => {
    const fd = inputOf(1025);
    await expect(readBoundedInput(fd, 1024, new AbortController().signal)).rejects.toMatchObject({
      exitCode: 65,
      message: 'request larger than 1024 bytes',
    });
    closeSync(fd);
  });

  it('gives null when stopped', async () => {
    const stop = new AbortController();
    stop.abort();
    await expect(readBoundedInput(0, 1024, stop.signal)).resolves.toBeNull();
  });

  it('reports an unreadable descriptor as exit 65', async () => {
    await expect(readBoundedInput(987654, 1024, new AbortController().signal)).rejects.toMatchObject({
      exitCode: 65,
      message: 'cannot read the request on stdin: EBADF',
    });
  });
});
