/**
 * The harness of the failing-write sweeps (test/integration/journal-faults-*):
 * the real server under the file-system shim (test/fs-shim), armed through
 * its control file, with every write, flush (fsync, fdatasync, of files and
 * directories) and rename it makes in CA_DIR during a unit of work failing
 * in turn: with EIO, as a full disk does it (a short write followed by
 * ENOSPC for every later write until the disk is freed), and for renames.
 * After each fault the disk is freed and the server must have gone on by
 * itself: every client printed a certificate or was refused with exit 75,
 * every printed certificate is recorded (index.txt, newcerts/, the journal,
 * every invariant of ca-invariants.ts), every queued revocation ends up in
 * a CRL, no CRL number is used twice, and the server never stopped. At the
 * end it restarts, and every certificate is listed and revoked.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { decodeJournal } from '@etoken-ca/contract/core/cadb/journal';
import { ecCsr, keys } from '../corpus/csr-builder.js';
import { request } from '../corpus/requests.js';
import { caProblems } from './ca-invariants.js';
import { makeServerFixture, removeFixture, REVOKE_BIN, RunningServer, SERVER_BIN, startServer, type ServerFixture } from './ca-server.js';
import { crlText, revokeCert } from './revocation.js';
import { createTestToken, type TestToken } from './softhsm.js';
import { runClient } from './spool-client.js';
import { pollUntil } from './wait-until.js';

const BUILD_SCRIPT = join(import.meta.dirname, '../fs-shim/build.sh');

/** The calls of one unit of work in CA_DIR. */
export interface CallCounts {
  readonly write: number;
  readonly sync: number;
  readonly rename: number;
}

const CHECKPOINT_EVENTS = ['db.checkpoint', 'db.checkpoint-failed'];
const WRITE_FAILURE_EVENTS = ['db.write-failed', 'db.flush-failed', 'db.disk-low', 'db.unavailable'];
/** The fixture's CHECKPOINT_INTERVAL and a second more. */
const AFTER_FAILURE_MS = 2000;

export class FaultHarness {
  readonly printed = new Set<string>();
  readonly revoked = new Set<string>();
  private readonly outcomes: string[] = [];
  private faults = 0;
  private work = '';
  private control = '';
  private stats = '';
  private token: TestToken | undefined;
  fixture!: ServerFixture;
  server!: RunningServer;
  private pid = 0;

  async start(label: string): Promise<void> {
    this.work = mkdtempSync(`/tmp/journal-faults-${label}-`);
    execFileSync('bash', [BUILD_SCRIPT, join(this.work, 'build')]);
    this.control = join(this.work, 'control');
    this.stats = join(this.work, 'stats.json');
    this.token = createTestToken({ label: `faults-${label}-${process.pid}`, keyType: 'rsa', owner: 'causer' });
    this.fixture = makeServerFixture(this.token, { CHECKPOINT_INTERVAL: '1', JOURNAL_SEGMENT_KB: '16', CA_DISK_RESERVE_MB: '0', CLIENT_TIMEOUT: '20', TOKEN_POLL_INTERVAL: '1' });
    // The CRLs in CA_DIR, as by default: their writes are swept too.
    writeFileSync(this.fixture.configPath, readFileSync(this.fixture.configPath, 'utf8').replace(/^CRL_DIR=.*$/m, `CRL_DIR="${join(this.fixture.caDir, 'crl')}"`));
    this.server = await this.startShimmed();
    this.pid = this.server.child.pid!;
    for (let i = 0; i < 3; i++) await this.oneClient(`Before ${i}`);
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.token?.cleanup();
    if (this.fixture) removeFixture(this.fixture);
    if (this.work) rmSync(this.work, { recursive: true, force: true });
  }

  /** Replaced by a rename, never rewritten: the shim must not read half of it. */
  arm(rules: string): void {
    writeFileSync(`${this.control}.new`, rules);
    renameSync(`${this.control}.new`, this.control);
  }

  private disarm(): void {
    rmSync(this.control, { force: true });
  }

  private ruleStats(): { name: string; matches: number; fired: number }[] {
    return (JSON.parse(readFileSync(this.stats, 'utf8')) as { rules: { name: string; matches: number; fired: number }[] }).rules;
  }

  private async startShimmed(): Promise<RunningServer> {
    const child = spawn(SERVER_BIN, ['--config', this.fixture.configPath, '--pin-fd', '3'], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        LD_PRELOAD: join(this.work, 'build', 'fs-shim.so'),
        FS_SHIM_EXE: 'node',
        FS_SHIM_CONTROL: this.control,
        FS_SHIM_STATS: this.stats,
      },
    });
    const pinPipe = child.stdio[3] as Writable;
    pinPipe.on('error', () => undefined);
    pinPipe.end(`${this.token!.pin}\n`);
    const running = new RunningServer(this.fixture, child);
    await running.waitFor('pin.accepted');
    return running;
  }

  /** One client as MyProxy runs it: a certificate (remembered) or a clean refusal, nothing else. */
  async oneClient(cn: string): Promise<void> {
    const result = await runClient(request(ecCsr(keys().p256), { username: `/O=Test/CN=${cn}`, proxyLifetime: '3600' }), this.fixture.configPath);
    if (result.code === 0) {
      this.printed.add(execFileSync('openssl', ['x509', '-noout', '-serial'], { input: result.stdout, encoding: 'utf8' }).trim().replace('serial=', ''));
      this.outcomes.push(`${cn}: issued`);
      return;
    }
    expect([result.code, result.stderr], cn).toEqual([75, expect.stringMatching(/CA disk full|CA database/)]);
    this.outcomes.push(`${cn}: ${result.stderr.trim()}`);
  }

  /**
   * An issuance and the automatic checkpoint after it (CHECKPOINT_INTERVAL 1 s). After a failed write the store may
   * have nothing to checkpoint or wait for the disk: then a little more than the interval is waited, not longer.
   */
  async issuance(label: string): Promise<void> {
    const count = (events: readonly string[]): number => events.reduce((sum, event) => sum + this.server.events(event).length, 0);
    const checkpoints = count(CHECKPOINT_EVENTS);
    const failures = count(WRITE_FAILURE_EVENTS);
    await this.oneClient(label);
    let failedAt = 0;
    const settled = (): boolean => {
      if (count(CHECKPOINT_EVENTS) > checkpoints) return true;
      if (failedAt === 0 && count(WRITE_FAILURE_EVENTS) > failures) failedAt = Date.now();
      return failedAt > 0 && Date.now() - failedAt > AFTER_FAILURE_MS;
    };
    await pollUntil(settled, 10_000, () => `${label}: no checkpoint`, 50).catch(() => undefined);
  }

  /** A revocation: journal records, CRL number, CRL files and link, the checkpoint that rewrites index.txt. */
  async revocation(label: string): Promise<void> {
    const target = [...this.printed].find((s) => !this.revoked.has(s))!;
    const run = await revokeCert(this.fixture, [target, '--timeout', label === 'counting' ? '30' : '1']);
    if (label === 'counting') expect(run.code, run.stderr).toBe(0);
    // Done, or still queued when the fault stopped the drain (exit 75): either way it must end up in a CRL. A second
    // is enough to wait: a stopped drain waits for the queue's 10 s rescan, or for expectRecovered's SIGUSR1.
    expect([0, 75], `${label}: ${run.stderr}`).toContain(run.code);
    this.revoked.add(target);
  }

  private pendingRevocations(): string[] {
    return readdirSync(join(this.fixture.caDir, 'revoke-queue')).filter((n) => n.endsWith('.json'));
  }

  /**
   * Faults gone (the disk freed): the server goes on by itself. A client gets a certificate again, the queue
   * drains (nudged, as revoke-cert does), checkpoints catch up, and everything holds.
   */
  async expectRecovered(what: string): Promise<void> {
    this.disarm();
    process.kill(this.pid, 'SIGUSR1');
    let issued = false;
    for (let attempt = 0; attempt < 20 && !issued; attempt++) {
      const before = this.printed.size;
      await this.oneClient(`${what}: after`);
      issued = this.printed.size > before;
      if (!issued) await sleep(500);
    }
    expect(issued, `${what}: a certificate again`).toBe(true);
    // The server repairs what the fault left (index lines, newcerts/ files, queued revocations) on its own, soon.
    const deadline = Date.now() + 40_000;
    let problems: string[] = [];
    for (;;) {
      const found = caProblems(this.fixture.caDir, [...this.printed].filter((s) => !this.revoked.has(s)));
      problems = [...found.problems, ...[...this.revoked].filter((serial) => found.snapshot.index.get(serial)?.status !== 'R').map((serial) => `${serial} not revoked in index.txt`)];
      if (this.pendingRevocations().length > 0) problems.push(`queued revocations: ${this.pendingRevocations().join(', ')}`);
      const numbers = found.snapshot.records.flatMap((r) => (r.t === 'crl-number' ? [r.number] : []));
      expect(new Set(numbers).size, `${what}: CRL numbers`).toBe(numbers.length);
      if (problems.length === 0 || Date.now() > deadline) break;
      await sleep(500);
    }
    expect(problems, what).toEqual([]);
    expect(this.server.exited, `${what}: server running`).toBe(false);
    expect(this.server.child.pid).toBe(this.pid);
  }

  /** What one unit of work does to CA_DIR, counted: writes, flushes, renames. */
  async count(unit: () => Promise<void>): Promise<CallCounts> {
    const path = `${this.fixture.caDir}/*`;
    this.arm(`name=write op=write path=${path}\nname=sync op=sync path=${path}\nname=rename op=rename path=${path}\n`);
    await sleep(100);
    await unit();
    const matches = (name: string): number => this.ruleStats().find((r) => r.name === name)?.matches ?? 0;
    const counted = { write: matches('write'), sync: matches('sync'), rename: matches('rename') };
    this.disarm();
    return counted;
  }

  /** Each fault of each kind over the calls of one unit of work, the unit run once per fault. */
  async sweep(name: string, counted: CallCounts, unit: (label: string) => Promise<void>): Promise<void> {
    const path = `${this.fixture.caDir}/*`;
    const kinds: [string, number, (n: number) => string][] = [
      ['write EIO', counted.write, (n) => `op=write path=${path} nth=${n} errno=EIO`],
      ['disk full', counted.write, (n) => `op=write path=${path} nth=${n} short=half\nop=write path=${path} from=${n + 1} errno=ENOSPC`],
      ['flush EIO', counted.sync, (n) => `op=sync path=${path} nth=${n} errno=EIO`],
      ['rename EIO', counted.rename, (n) => `op=rename path=${path} nth=${n} errno=EIO`],
    ];
    for (const [kind, calls, rule] of kinds) {
      for (let n = 1; n <= calls; n++) {
        const label = `${name}, ${kind} at call ${n} of ${calls}`;
        this.arm(`${rule(n)}\n`);
        await sleep(50);
        await unit(label);
        if (this.ruleStats().some((r) => r.fired > 0)) this.faults++;
        await this.expectRecovered(label);
      }
    }
  }

  /** Restarts the server unshimmed: the journal whole, every printed certificate listed as it should be, then all revoked. */
  async expectAllAfterRestart(): Promise<void> {
    expect(await this.server.stop()).toBe(0);
    this.server = await startServer(this.fixture, this.token!.pin);
    this.pid = this.server.child.pid!;
    for (const name of readdirSync(join(this.fixture.caDir, 'journal'))) {
      expect(decodeJournal(readFileSync(join(this.fixture.caDir, 'journal', name))).damage, name).toBeNull();
    }
    const list = spawnSync(REVOKE_BIN, ['--config', this.fixture.configPath, '--list', '--json'], { encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    const states = new Map((JSON.parse(list.stdout) as { serial: string; state: string }[]).map((r) => [r.serial, r.state]));
    for (const serial of this.printed) expect(states.get(serial), serial).toBe(this.revoked.has(serial) ? 'revoked' : 'valid');
    const rest = [...this.printed].filter((s) => !this.revoked.has(s));
    const run = await revokeCert(this.fixture, [...rest, '--timeout', '60']);
    expect(run.code, run.stderr).toBe(0);
    const text = crlText(join(this.fixture.caDir, 'crl', 'crl.pem'));
    for (const serial of this.printed) expect(text).toContain(`Serial Number: ${serial}`);
    const refusals = this.outcomes.filter((o) => !o.endsWith('issued')).length;
    console.log(`journal faults: ${this.faults} faults injected; ${this.printed.size} certificates printed, ${refusals} clean refusals; all listed and revoked`);
  }
}
