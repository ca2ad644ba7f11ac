/**
 * `etoken-ca-server verify-journal`, and the server on a damaged journal: an
 * incomplete last record is reported and cut at start-up; a damaged record
 * with whole records after it is reported exactly (segment, byte, problem,
 * what follows), and the server does not start on it (exit 65), cutting
 * nothing.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeServerFixture, removeFixture, SERVER_BIN, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { issueThroughClient } from '../helpers/revocation.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer | undefined;

function verify(): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(SERVER_BIN, ['verify-journal', '--config', fixture.configPath], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const lastSegment = (): string => {
  const dir = join(fixture.caDir, 'journal');
  return join(dir, readdirSync(dir).sort().at(-1)!);
};

beforeAll(async () => {
  token = createTestToken({ label: `verify-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  fixture = makeServerFixture(token, { TOKEN_POLL_INTERVAL: '1' });
  server = await startServer(fixture, token.pin);
  for (let i = 0; i < 3; i++) await issueThroughClient(fixture, `Verify ${i}`);
  await server.stop();
  server = undefined;
});

afterAll(async () => {
  await server?.stop();
  token?.cleanup();
  if (fixture) removeFixture(fixture);
});

describe.sequential('verify-journal', () => {
  it('explains itself with --help, and refuses an unknown argument', () => {
    const help = spawnSync(SERVER_BIN, ['verify-journal', '--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: etoken-ca-server verify-journal \[--config FILE\]/);
    expect(help.stdout).toMatch(/Exit codes: 0 whole, 65 damaged, 78 .*69 the files cannot be read/s);
    const wrong = spawnSync(SERVER_BIN, ['verify-journal', '--repair'], { encoding: 'utf8' });
    expect(wrong.status).toBe(64);
    expect(wrong.stderr).toMatch(/unknown argument --repair/);
  });

  it('finds a whole journal whole', () => {
    const run = verify();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/00000001\.jnl +\d+ bytes +\d+ records +whole/);
    expect(run.stdout).toMatch(/database: 3 certificates/);
    expect(run.stdout).toMatch(/result: whole/);
  });

  it('reports an incomplete last record without calling it damage, and the server cuts it', async () => {
    appendFileSync(lastSegment(), '000004d2 0badc0de {"t":"iss');
    const run = verify();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/an incomplete last record of 27 bytes at byte \d+/);
    server = await startServer(fixture, token.pin);
    // The clean stop before checkpointed past the three issuances: only the torn bytes are left to read.
    expect(server.events('db.loaded')[0]).toMatchObject({ tornBytes: 27, certificates: 3, replayed: 0 });
    await server.stop();
    server = undefined;
    expect(verify().stdout).toMatch(/result: whole/);
  });

  it('reports a damaged record with whole records after it exactly, and the server does not start on it', async () => {
    // Records after the checkpoint: the ones a start reads (CHECKPOINT_INTERVAL is 5 minutes here). A crash leaves
    // them there; a clean stop would checkpoint past them.
    server = await startServer(fixture, token.pin);
    for (let i = 0; i < 3; i++) await issueThroughClient(fixture, `Damaged ${i}`);
    await server.stop('SIGKILL');
    server = undefined;
    const checkpoint = JSON.parse(readFileSync(join(fixture.caDir, 'checkpoint.json'), 'utf8')) as { segment: number; offset: number };
    const path = join(fixture.caDir, 'journal', `${String(checkpoint.segment).padStart(8, '0')}.jnl`);
    expect(path).toBe(lastSegment());
    const bytes = readFileSync(path);
    const at = bytes.indexOf('"t":"issue"', checkpoint.offset);
    expect(at).toBeGreaterThan(checkpoint.offset);
    bytes[at + 5] = 0x78; // "issue" -> "ixsue": the checksum no longer matches
    writeFileSync(path, bytes);
    const run = verify();
    expect(run.status).toBe(65);
    const name = path.split('/').at(-1)!;
    expect(run.stdout).toMatch(new RegExp(`${name.replace('.', '\\.')} .*damaged at byte \\d+: checksum [0-9a-f]{8} where the record says [0-9a-f]{8}; \\d+ whole record\\(s\\) follow from byte \\d+`));
    expect(run.stdout).toMatch(/result: damaged \(exit 65\)/);
    const refused = await startServer(fixture, token.pin, false);
    const code = await new Promise<number | null>((resolve) => refused.child.once('close', (exit) => resolve(exit)));
    expect(code, refused.stderr.join('')).toBe(65);
    expect(refused.stderr.join('')).toMatch(/journal\/\d{8}\.jnl is damaged at byte \d+ \(checksum .*\).*whole record\(s\) follow from byte \d+/);
    expect(refused.events('db.journal-damaged')).toHaveLength(1);
    // Nothing was cut.
    expect(readFileSync(path)).toEqual(bytes);
  });
});
