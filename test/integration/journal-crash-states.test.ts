/**
 * Crash states of the CA directory, in the manner of ALICE (Pillai et al.,
 * OSDI 2014): the real server runs under the file-system shim (test/fs-shim)
 * recording every mutating call while it issues certificates (one at a time
 * and several at once, so flushes are shared), revokes two of them (CRL,
 * checkpoint with a rewrite of index.txt), rotates journal segments (16 KB)
 * and checkpoints on its own (every second). test/helpers/crash-states.ts
 * then builds every state a power cut during that run could have left in
 * CA_DIR under Linux's persistence rules (data written since a file's last
 * fsync may be lost or torn, a name persists only after its directory's
 * fsync). A power cut is placed just before each flush (fsync, fdatasync,
 * of a file or a directory) and at the end, where the most has been
 * acknowledged; every subset of what was pending then that Linux may have
 * written is a state (the states of earlier points are among them). On each
 * state the server's own start-up code, as installed
 * (CaStore.open from the staged copy), must start, and every certificate
 * and revocation acknowledged before the power went must be there: the
 * certificate valid (or revoked, once its revocation was acknowledged) in
 * the database, in index.txt and in newcerts/, with every invariant of
 * test/helpers/ca-invariants.ts. A few states, the last among them, are also
 * given to the real server, and revoke-cert and openssl ca read them.
 *
 * A certificate counts as acknowledged from the rename that publishes its
 * answer in the spool (recorded with the same sequence numbers), a
 * revocation from the rename of its queue entry into done/ (revoke-cert
 * reports success only after it): whatever happened before the next
 * recorded CA_DIR operation after the power cut counts as acknowledged.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caProblems } from '../helpers/ca-invariants.js';
import { makeServerFixture, removeFixture, REVOKE_BIN, RunningServer, SERVER_BIN, startServer, type ServerFixture } from '../helpers/ca-server.js';
import { buildCrashModel, crashStates, materializeCrashState, readShimRecord, snapshotTree, type CrashModel, type ShimRecord } from '../helpers/crash-states.js';
import { issueThroughClient, revokeCert } from '../helpers/revocation.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { STAGED_SERVER_PACKAGE } from '../helpers/staged-code.js';

type StoreModule = typeof import('../../packages/ca-server/src/supervisor/store/ca-store.js');

const BUILD_SCRIPT = join(import.meta.dirname, '../fs-shim/build.sh');

let work: string;
/** A tmpfs for the crash states: each is copied, started on and thrown away. */
let states: string;
let shim: string;
let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer | undefined;
let store: StoreModule;

/** The config with the revocation queue outside CA_DIR (revoke-cert writes it, beyond the record) and the store's knobs small. */
function configure(fixture: ServerFixture): void {
  const text = readFileSync(fixture.configPath, 'utf8').replace(/^REVOKE_QUEUE_DIR=.*$/m, `REVOKE_QUEUE_DIR="${join(fixture.dir, 'revoke-queue')}"`);
  writeFileSync(fixture.configPath, text);
}

/** startServer, under the shim. */
async function startRecorded(env: Record<string, string>): Promise<RunningServer> {
  const child = spawn(SERVER_BIN, ['--config', fixture.configPath, '--pin-fd', '3'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
  const pinPipe = child.stdio[3] as Writable;
  pinPipe.on('error', () => undefined);
  pinPipe.end(`${token.pin}\n`);
  const running = new RunningServer(fixture, child);
  await running.waitFor('pin.accepted');
  return running;
}

beforeAll(async () => {
  work = mkdtempSync('/tmp/journal-crash-states-');
  states = join(work, 'states');
  mkdirSync(states);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2g,mode=0700', 'etoken-ca-crash-states', states]);
  execFileSync('bash', [BUILD_SCRIPT, join(work, 'build')]);
  shim = join(work, 'build', 'fs-shim.so');
  store = (await import(join(STAGED_SERVER_PACKAGE, 'dist/supervisor/store/ca-store.js'))) as StoreModule;
  token = createTestToken({ label: `crash-states-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  fixture = makeServerFixture(token, { CHECKPOINT_INTERVAL: '1', JOURNAL_SEGMENT_KB: '16', CA_DISK_RESERVE_MB: '0', TOKEN_POLL_INTERVAL: '1' });
  configure(fixture);
});

afterAll(async () => {
  await server?.stop();
  token?.cleanup();
  if (fixture) removeFixture(fixture);
  if (states) spawnSync('umount', [states]);
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Acknowledged {
  /** Serial -> sequence number of the rename that published its answer. */
  readonly certificates: Map<string, number>;
  /** Serial -> sequence number of the rename of its queue entry into done/. */
  readonly revocations: Map<string, number>;
}

/** What the clients and revoke-cert were told, and when, read off the record (spool and queue lie outside CA_DIR). */
function acknowledgements(records: readonly ShimRecord[]): Acknowledged {
  const answers = join(fixture.spoolDir, 'answers');
  const done = join(fixture.dir, 'revoke-queue', 'done');
  const written = new Map<string, Buffer[]>();
  for (const r of records) {
    if (r.op === 'write' && (r.path.startsWith(`${answers}/`) || r.path.startsWith(`${done}/`))) {
      written.set(r.path, [...(written.get(r.path) ?? []), r.bytes]);
    }
  }
  const certificates = new Map<string, number>();
  const revocations = new Map<string, number>();
  for (const r of records) {
    if (r.op !== 'rename' || r.ret < 0) continue;
    const content = Buffer.concat(written.get(r.path) ?? []).toString('utf8');
    if (r.newPath.startsWith(`${answers}/`) && content.includes('"status":"issued"')) {
      certificates.set((JSON.parse(content) as { serial: string }).serial, r.seq);
    } else if (r.newPath.startsWith(`${done}/`) && content !== '') {
      const entry = JSON.parse(content) as { serial: string; crlNumber: number | null };
      if (entry.crlNumber !== null) revocations.set(entry.serial, r.seq);
    }
  }
  return { certificates, revocations };
}

/**
 * The acknowledgements made before a power cut that comes before the model's operation `issued` (or at the
 * end): certificates valid, revocations done, and certificates whose revocation was under way (valid or
 * revoked, never missing).
 */
function acknowledgedAt(model: CrashModel, acks: Acknowledged, issued: number, before: readonly string[]): { valid: string[]; revoked: string[]; either: string[] } {
  const next = model.operations[issued]?.seq ?? Number.POSITIVE_INFINITY;
  const revoked = [...acks.revocations].filter(([, seq]) => seq < next).map(([serial]) => serial);
  // The certificates issued before the recorded run were acknowledged before any of it.
  const certified = [...before, ...[...acks.certificates].filter(([, seq]) => seq < next).map(([serial]) => serial)];
  const either = certified.filter((serial) => acks.revocations.has(serial) && !revoked.includes(serial));
  return { valid: certified.filter((serial) => !acks.revocations.has(serial)), revoked, either };
}

/** Problems with one crash state after the store's start-up on it: empty when it is right. */
async function checkState(dir: string, acked: { valid: string[]; revoked: string[]; either: string[] }): Promise<string[]> {
  let opened: Awaited<ReturnType<StoreModule['CaStore']['open']>>;
  try {
    opened = await store.CaStore.open(dir);
  } catch (e) {
    return [`start-up failed: ${(e as Error).message}`];
  }
  const problems: string[] = [];
  for (const serial of acked.valid) if (opened.db.get(serial)?.status !== 'V') problems.push(`acknowledged ${serial} is ${opened.db.get(serial)?.status ?? 'missing'}`);
  for (const serial of acked.either) if (!opened.db.get(serial)) problems.push(`acknowledged ${serial} (being revoked) is missing`);
  for (const serial of acked.revoked) if (opened.db.get(serial)?.status !== 'R') problems.push(`acknowledged revocation of ${serial} lost`);
  opened.close();
  const found = caProblems(dir, acked.valid);
  problems.push(...found.problems);
  for (const serial of acked.either) if (!found.snapshot.index.has(serial)) problems.push(`${serial} (being revoked) not in index.txt`);
  for (const serial of acked.revoked) if (found.snapshot.index.get(serial)?.status !== 'R') problems.push(`revoked ${serial} not R in index.txt`);
  return problems;
}

function opensslCaStatus(caDir: string, serial: string): string {
  const cnf = join(work, 'openssl-ca.cnf');
  writeFileSync(cnf, `[ca]\ndefault_ca = etoken\n[etoken]\ndir = ${caDir}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/newcerts\nserial = $dir/serial\ncertificate = ${token.caCertPath}\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = optional\n`);
  return spawnSync('openssl', ['ca', '-config', cnf, '-status', serial], { encoding: 'utf8' }).stderr;
}

describe('crash states of a run of issuances, revocations, rotations and checkpoints', () => {
  let model: CrashModel;
  let acks: Acknowledged;
  const printed: string[] = [];
  const revokedByTest: string[] = [];

  it('records the run', async () => {
    server = await startServer(fixture, token.pin);
    for (let i = 0; i < 2; i++) printed.push((await issueThroughClient(fixture, `Before ${i}`)).serial);
    await server.stop();
    const snapshot = join(work, 'snapshot');
    snapshotTree(fixture.caDir, snapshot);

    const log = join(work, 'record.log');
    server = await startRecorded({ LD_PRELOAD: shim, FS_SHIM_EXE: 'node', FS_SHIM_RECORD_LOG: log, FS_SHIM_RECORD_PREFIX: fixture.dir });
    for (let i = 0; i < 4; i++) printed.push((await issueThroughClient(fixture, `One ${i}`)).serial);
    const together = await Promise.all([0, 1, 2, 3].map((i) => issueThroughClient(fixture, `Together ${i}`)));
    printed.push(...together.map((c) => c.serial));
    revokedByTest.push(printed[1]!, printed[4]!);
    const revoked = await revokeCert(fixture, [...revokedByTest, '--reason', 'keyCompromise']);
    expect(revoked.code, revoked.stderr).toBe(0);
    for (let i = 0; i < 2; i++) printed.push((await issueThroughClient(fixture, `After ${i}`)).serial);
    const checkpoints = server.events('db.checkpoint').length;
    await server.waitFor('db.checkpoint', checkpoints + 1, 10_000);
    printed.push((await issueThroughClient(fixture, 'Last')).serial);
    expect(server.events('db.rotated').length, 'the journal rotated').toBeGreaterThan(0);
    expect(await server.stop()).toBe(0);
    server = undefined;

    const records = readShimRecord(log);
    acks = acknowledgements(records);
    model = buildCrashModel({ root: fixture.caDir, snapshot, records });
    // Every certificate printed in the recorded run was acknowledged in the record, and both revocations.
    for (const serial of printed.slice(2)) expect(acks.certificates.has(serial), serial).toBe(true);
    expect([...acks.revocations.keys()].sort()).toEqual([...revokedByTest].sort());
  }, 300_000);

  it('starts on every crash state with every acknowledged certificate and revocation', async () => {
    const failures: string[] = [];
    let checked = 0;
    let withAcks = 0;
    const before = printed.slice(0, 2);
    const started = Date.now();
    for (const state of crashStates(model, { crashPoints: 'syncs' })) {
      const dir = join(states, 'state');
      rmSync(dir, { recursive: true, force: true });
      materializeCrashState(model, state, dir);
      const acked = acknowledgedAt(model, acks, state.issued, before);
      if (acked.valid.length + acked.either.length + acked.revoked.length > before.length) withAcks++;
      const problems = await checkState(dir, acked);
      if (problems.length > 0) failures.push(`${state.description}:\n    ${problems.slice(0, 5).join('\n    ')}`);
      if (failures.length >= 10) break;
      if (++checked % 2000 === 0) console.log(`journal crash states: ${checked} checked, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    console.log(`journal crash states: ${checked} crash states checked (${model.operations.length} recorded operations in CA_DIR; ${withAcks} states after at least one acknowledgement)`);
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(200);
  }, 1_200_000);

  it('gives some of them, the last among them, to the real server, revoke-cert and openssl ca', async () => {
    const all = [...crashStates(model, { crashPoints: 'syncs' })];
    const picks = [all.length - 1, Math.floor(all.length / 2), Math.floor(all.length / 3)];
    for (const pick of picks) {
      const state = all[pick]!;
      rmSync(fixture.caDir, { recursive: true, force: true });
      materializeCrashState(model, state, fixture.caDir);
      const acked = acknowledgedAt(model, acks, state.issued, printed.slice(0, 2));
      server = await startServer(fixture, token.pin);
      const list = spawnSync(REVOKE_BIN, ['--config', fixture.configPath, '--list', '--json'], { encoding: 'utf8' });
      expect(list.status, list.stderr).toBe(0);
      const rows = JSON.parse(list.stdout) as { serial: string; state: string }[];
      const stateOf = new Map(rows.map((r) => [r.serial, r.state]));
      for (const serial of acked.valid) expect(stateOf.get(serial), `${state.description}: ${serial}`).toBe('valid');
      for (const serial of acked.either) expect(['valid', 'revoked'], `${state.description}: ${serial}`).toContain(stateOf.get(serial));
      for (const serial of acked.revoked) expect(stateOf.get(serial), `${state.description}: ${serial}`).toBe('revoked');
      await server.stop();
      server = undefined;
      for (const serial of acked.valid) expect(opensslCaStatus(fixture.caDir, serial)).toContain(`${serial}=Valid`);
      for (const serial of acked.revoked) expect(opensslCaStatus(fixture.caDir, serial)).toContain(`${serial}=Revoked`);
    }
  }, 300_000);
});
