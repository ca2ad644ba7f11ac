/**
 * systemd/etoken-ca.service: systemd itself finds nothing to complain about,
 * and its own exposure score stays low. The binary is not installed here, so
 * the checked copy points ExecStart at a stub of the same name.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const UNIT = join(import.meta.dirname, '../../systemd/etoken-ca.service');
const EXEC_START = 'ExecStart=/usr/local/sbin/etoken-ca-server';
const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

const run = promisify(execFile);

describe.skipIf(!ANALYZE)(`systemd unit${ANALYZE ? '' : ' (skipped: systemd-analyze is not installed)'}`, () => {
  let dir: string;
  let unitCopy: string;

  beforeAll(() => {
    dir = mkdtempSync('/tmp/etoken-unit-');
    const stub = join(dir, 'etoken-ca-server');
    writeFileSync(stub, '#!/bin/sh\n');
    chmodSync(stub, 0o755);
    unitCopy = join(dir, 'etoken-ca.service');
    writeFileSync(unitCopy, readFileSync(UNIT, 'utf8').replace(EXEC_START, `ExecStart=${stub}`));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts the installed server binary', () => {
    expect(readFileSync(UNIT, 'utf8').split('\n')).toContain(EXEC_START);
  });

  it('passes systemd-analyze verify without a warning about it', async () => {
    const { stdout, stderr } = await run(ANALYZE!, ['verify', unitCopy]);
    const aboutUnit = `${stdout}${stderr}`.split('\n').filter((line) => line.includes('etoken-ca'));
    expect(aboutUnit).toEqual([]);
  });

  it('keeps the exposure score of systemd-analyze security at 4.0 or below', async () => {
    // --threshold counts in tenths; above it the command exits non-zero.
    await expect(run(ANALYZE!, ['security', '--offline=yes', '--threshold=40', '--no-pager', unitCopy])).resolves.toBeDefined();
  });
});
