/**
 * One writer per CA directory, with the real server: a second server or an
 * import on a CA_DIR in use is refused before it reads or writes anything
 * there, and the lock of a server killed with SIGKILL is taken over by the
 * next one.
 */
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeServerFixture, removeFixture, SERVER_BIN, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';

let token: TestToken;
let fixture: ServerFixture;
/** The same CA_DIR under a second config of its own (its own PID_FILE and spool), so that only the CA directory is shared. */
let sharing: ServerFixture;
const running: RunningServer[] = [];

beforeAll(() => {
  token = createTestToken({ label: `one-writer-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  fixture = makeServerFixture(token);
  sharing = makeServerFixture(token, { CA_DIR: fixture.caDir, REVOKE_QUEUE_DIR: join(fixture.caDir, 'revoke-queue') });
});

afterAll(async () => {
  for (const server of running) await server.stop('SIGKILL');
  removeFixture(sharing);
  removeFixture(fixture);
  token.cleanup();
});

async function exitOf(server: RunningServer): Promise<number | null> {
  if (!server.exited) await new Promise((resolve) => server.child.once('exit', resolve));
  return server.child.exitCode;
}

describe('one writer per CA directory', () => {
  it('refuses a second server while one runs, and takes over the lock of one killed with SIGKILL', async () => {
    const first = await startServer(fixture, token.pin);
    running.push(first);
    const lock = join(fixture.caDir, 'server.lock');
    expect(readlinkSync(lock)).toMatch(new RegExp(`^${first.child.pid}\\.\\d+$`));

    const second = await startServer(sharing, token.pin, false);
    running.push(second);
    expect(await exitOf(second)).toBe(75);
    expect(second.stderr.join('')).toMatch(new RegExp(`is in use by another etoken-ca-server or import \\(pid ${first.child.pid},`));
    expect(second.logs.map((r) => r.event)).not.toContain('db.loaded');
    expect(second.logs.map((r) => r.event)).not.toContain('token.inserted');

    // An import into the directory in use is refused the same way, before it reads anything.
    const imported = spawnSync(SERVER_BIN, ['import-openssl-ca', fixture.dir, '--config', fixture.configPath], { encoding: 'utf8' });
    expect(imported.status).toBe(75);
    expect(imported.stderr).toMatch(new RegExp(`is in use by another etoken-ca-server or import \\(pid ${first.child.pid},`));

    await first.stop('SIGKILL');
    const third = await startServer(fixture, token.pin);
    running.push(third);
    expect(readlinkSync(lock)).toMatch(new RegExp(`^${third.child.pid}\\.\\d+$`));
    expect(await third.stop()).toBe(0);
    expect(() => readlinkSync(lock)).toThrow(/ENOENT/);
  }, 180_000);
});
