/**
 * The revocation service's state machine with fakes at its ports: a store
 * over the in-memory database that records what was appended and what was
 * committed, a token whose state and signatures the test decides, a clock
 * the test moves. The queue and CRL_DIR are real directories (the queue
 * reader checks that entries are root's, so these tests need root, like
 * the rest of the suite).
 */
import { sign, verify } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CaDatabase } from '@etoken-ca/contract/core/cadb/database';
import type { JournalRecord } from '@etoken-ca/contract/core/cadb/journal';
import type { RevocationRequest } from '@etoken-ca/contract/core/revocation-queue';
import { ensureQueueDir, pendingIds, queueLayout, readDoneEntry, writeQueueEntry, type QueueLayout } from '@etoken-ca/contract/io/revocation-queue-dir';
import type { SignCrlRequest } from '@etoken-ca/protocol/signer-messages';
import { createCrlTemplate } from '@etoken-ca/x509/crl';
import { makeFileCa } from '../../../../x509/src/testing/file-ca.js';
import type { AuditRecord } from '../audit-log.js';
import { crlDer, crlProblem } from '../audit/crl-check.js';
import type { CaStore } from '../store/ca-store.js';
import type { SignOutcome } from '../token-manager.js';
import { RevocationService, type CrlSigner } from './revocation-service.js';

const DAY = 86_400_000;
/** The service's clock starts at the real time: done/ entries age by their file times, which are the kernel's. */
const T0 = Math.floor(Date.now() / 1000) * 1000;
const authority = makeFileCa({ keyType: 'ec-p256' });
const template = createCrlTemplate(authority.ca);
const isRoot = process.getuid?.() === 0;

/** The database behind the journal: records appended, and how many of them a commit made durable. */
class FakeStore {
  readonly db = new CaDatabase();
  readonly journal: JournalRecord[] = [];
  durable = 0;
  checkpoints = 0;

  append(record: JournalRecord): ReturnType<CaDatabase['apply']> {
    this.journal.push(record);
    return this.db.apply(record);
  }

  /** Every certificate is in memory here: none is left on disk. */
  certificate(serial: string): ReturnType<CaDatabase['get']> {
    return this.db.get(serial);
  }

  commit(): Promise<void> {
    this.durable = this.journal.length;
    return Promise.resolve();
  }

  checkpoint(): Promise<void> {
    this.checkpoints++;
    return this.commit();
  }

  durableRecords(): JournalRecord[] {
    return this.journal.slice(0, this.durable);
  }
}

type Answer = (request: SignCrlRequest) => SignOutcome | Promise<SignOutcome>;

/** A token whose state the test sets; it signs with the file CA's key unless told otherwise. */
class FakeToken implements CrlSigner {
  state = 'ready';
  readonly requests: SignCrlRequest[] = [];
  readonly distrusted: Array<{ id: string; reason: string }> = [];
  readonly answers: Answer[] = [];
  whenReadyCalls = 0;
  private waiters: Array<() => void> = [];

  whenReady(): Promise<void> {
    this.whenReadyCalls++;
    if (this.state === 'ready') return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  becomeReady(): void {
    this.state = 'ready';
    for (const wake of this.waiters.splice(0)) wake();
  }

  signCrl(request: SignCrlRequest): Promise<SignOutcome> {
    this.requests.push(request);
    const answer = this.answers.shift() ?? honest;
    return Promise.resolve(answer(request));
  }

  distrustSigner(id: string, reason: string): void {
    this.distrusted.push({ id, reason });
  }
}

const honest: Answer = (request) => ({ kind: 'crl-signed', signature: sign(template.algorithm.hash, request.tbs, authority.key), stable: true });

interface Rig {
  readonly service: RevocationService;
  readonly store: FakeStore;
  readonly token: FakeToken;
  readonly queue: QueueLayout;
  readonly crlDir: string;
  readonly logs: Array<{ level: string; record: AuditRecord; message: string }>;
  readonly hooks: Array<{ number: number; path: string }>;
  readonly notified: Array<{ event: string; details: Record<string, unknown> }>;
  now: number;
}

let dir: string;
let rig: Rig;

function makeRig(settings: { crlReissueDays?: number; crlDropExpired?: boolean; settleMs?: number } = {}): Rig {
  const queue = queueLayout(join(dir, 'queue'));
  ensureQueueDir(queue);
  const crlDir = join(dir, 'crl');
  const store = new FakeStore();
  const token = new FakeToken();
  const logs: Rig['logs'] = [];
  const hooks: Rig['hooks'] = [];
  const notified: Rig['notified'] = [];
  const at = (level: string) => (record: AuditRecord, message: string) => void logs.push({ level, record, message });
  const clock = { now: T0 };
  const service = new RevocationService({
    settings: { crlDir, crlFormats: ['pem'], crlDays: 30, crlReissueDays: settings.crlReissueDays ?? 7, crlDropExpired: settings.crlDropExpired ?? false, crlKeep: 10 },
    queue,
    store: store as unknown as CaStore,
    token,
    template,
    verifySignature: (tbs, signature) => verify(template.algorithm.hash, tbs, authority.ca.publicKey, signature),
    log: { info: at('info'), warn: at('warn'), error: at('error') },
    postCrl: (number, path) => {
      hooks.push({ number, path });
      return Promise.resolve();
    },
    notify: (event, details) => void notified.push({ event, details }),
    clock: () => clock.now,
    ...(settings.settleMs === undefined ? {} : { settleMs: settings.settleMs }),
  });
  return {
    service,
    store,
    token,
    queue,
    crlDir,
    logs,
    hooks,
    notified,
    get now() {
      return clock.now;
    },
    set now(ms: number) {
      clock.now = ms;
    },
  };
}

const serialOf = (n: number): string => (0x1000 + n).toString(16).toUpperCase();

/** Valid certificates 1..count in the database, ending after `notAfter`. */
function certificates(count: number, notAfter = T0 + 365 * DAY): void {
  for (let n = 1; n <= count; n++) rig.store.append({ t: 'import', serial: serialOf(n), status: 'V', notAfter, subject: `/CN=user ${n}`, from: 'test', at: T0 - DAY });
}

let queued = 0;
function enqueue(serial: string): RevocationRequest {
  const request: RevocationRequest = { id: (++queued).toString(16).padStart(32, '0'), serial, reason: 'keyCompromise', requestedAt: rig.now, by: 'root', uid: 0 };
  writeQueueEntry(rig.queue, request);
  return request;
}

/** Nudged, and every drain it causes over. */
async function drained(why = 'test'): Promise<void> {
  rig.service.nudge(why);
  await vi.waitFor(() => expect(rig.service.busy).toBe(false), { timeout: 10_000, interval: 10 });
}

const events = (event: string): AuditRecord[] => rig.logs.filter((l) => l.record.event === event).map((l) => l.record);
const published = (): string[] => (existsSync(rig.crlDir) ? readdirSync(rig.crlDir).filter((n) => /^crl-\d+\.pem$/.test(n)).sort() : []);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'revocation-service-'));
  rig = makeRig();
});

afterEach(() => {
  rig.service.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(isRoot)('RevocationService', () => {
  it('publishes a first CRL when none exists: number 1, signed by the CA, linked, the hook run with it', async () => {
    await drained('start-up');
    expect(rig.token.requests.map((r) => r.id)).toEqual(['crl-1']);
    expect(published()).toEqual(['crl-1.pem']);
    expect(readlinkSync(join(rig.crlDir, 'crl.pem'))).toBe('crl-1.pem');
    expect(crlProblem(crlDer(readFileSync(join(rig.crlDir, 'crl-1.pem'))), authority.ca)).toBeNull();
    expect(rig.hooks).toEqual([{ number: 1, path: join(rig.crlDir, 'crl-1.pem') }]);
    expect(events('crl.issued')).toMatchObject([{ number: 1, entries: 0 }]);
    expect(rig.store.db.crlState.published).toMatchObject({ number: 1, nextUpdate: T0 + 30 * DAY });
    expect(rig.store.checkpoints).toBe(1);
  });

  it('records the CRL number durably before the signature is asked for', async () => {
    certificates(1);
    enqueue(serialOf(1));
    rig.token.answers.push((request) => {
      const reserved = rig.store.durableRecords().filter((r) => r.t === 'crl-number');
      expect(reserved.map((r) => (r.t === 'crl-number' ? r.number : 0))).toEqual([1]);
      expect(request.id).toBe('crl-1');
      // The revocation is durable with it: a crash now loses neither.
      expect(rig.store.durableRecords().some((r) => r.t === 'revoke' && r.serial === serialOf(1))).toBe(true);
      return honest(request);
    });
    await drained();
    expect(rig.token.requests).toHaveLength(1);
    expect(published()).toEqual(['crl-1.pem']);
    expect(pendingIds(rig.queue)).toEqual([]);
  });

  it('coalesces nudges: a burst during a drain causes one more drain, not one each', async () => {
    certificates(2);
    let release = (): void => undefined;
    rig.token.answers.push((request) => new Promise((resolve) => (release = () => resolve(honest(request)))));
    rig.service.nudge('first');
    await vi.waitFor(() => expect(rig.token.requests).toHaveLength(1), { timeout: 10_000, interval: 10 });
    // While the token signs: an entry arrives, and nudges pour in.
    enqueue(serialOf(2));
    for (let i = 0; i < 100; i++) rig.service.nudge('SIGUSR1');
    rig.now += 2000;
    release();
    await vi.waitFor(() => expect(rig.service.busy).toBe(false), { timeout: 10_000, interval: 10 });
    expect(rig.token.requests.map((r) => r.id)).toEqual(['crl-1', 'crl-2']);
    expect(events('revocation.check')).toHaveLength(1);
    expect(pendingIds(rig.queue)).toEqual([]);
    // Nothing left to do: further nudges sign nothing.
    await drained();
    expect(rig.token.requests).toHaveLength(2);
  });

  it('lets entries written together share a CRL, and starts at once on SIGUSR1, which comes when all are written', async () => {
    rig.service.stop();
    // The watcher's nudge on the first file waits (here: ten minutes) for the rest of the run...
    rig = makeRig({ settleMs: 600_000 });
    certificates(3);
    rig.service.nudge('SIGUSR1');
    await vi.waitFor(() => expect(rig.service.busy).toBe(false), { timeout: 10_000, interval: 10 });
    rig.now += 2000;
    enqueue(serialOf(1));
    rig.service.nudge('queue');
    enqueue(serialOf(2));
    rig.service.nudge('queue');
    expect(rig.token.requests).toHaveLength(1);
    // ...which the sender's signal ends.
    enqueue(serialOf(3));
    rig.service.nudge('SIGUSR1');
    await vi.waitFor(() => expect(rig.service.busy).toBe(false), { timeout: 10_000, interval: 10 });
    expect(events('cert.revoked').map((e) => e.serial)).toEqual([serialOf(1), serialOf(2), serialOf(3)]);
    expect(rig.token.requests.map((r) => r.id)).toEqual(['crl-1', 'crl-2']);
  });

  it('moves nothing without a ready token, waits for it once, and drains when it is back', async () => {
    certificates(1);
    rig.token.state = 'absent';
    const entry = enqueue(serialOf(1));
    await drained();
    await drained();
    expect(rig.token.requests).toEqual([]);
    expect(pendingIds(rig.queue)).toEqual([entry.id]);
    expect(rig.store.db.get(serialOf(1))?.status).toBe('V');
    expect(rig.store.journal.filter((r) => r.t === 'crl-number')).toEqual([]);
    expect(events('revocation.waiting')).toHaveLength(1);
    expect(rig.token.whenReadyCalls).toBe(1);

    rig.token.becomeReady();
    await vi.waitFor(() => expect(pendingIds(rig.queue)).toEqual([]), { timeout: 10_000, interval: 10 });
    await vi.waitFor(() => expect(rig.service.busy).toBe(false), { timeout: 10_000, interval: 10 });
    expect(events('revocation.check').at(-1)).toMatchObject({ why: 'token ready' });
    expect(rig.store.db.get(serialOf(1))?.status).toBe('R');
    expect(readDoneEntry(rig.queue, entry.id)).toMatchObject({ crlNumber: 1 });
  });

  it('does not publish a CRL signed across a token change; the entry stays queued and the number is never reused', async () => {
    certificates(1);
    const entry = enqueue(serialOf(1));
    rig.token.answers.push((request) => ({ ...(honest(request) as { kind: 'crl-signed'; signature: Buffer }), stable: false }));
    await drained();
    expect(events('crl.not-published')).toMatchObject([{ number: 1, reason: 'token changed during the signature' }]);
    expect(published()).toEqual([]);
    expect(rig.hooks).toEqual([]);
    expect(pendingIds(rig.queue)).toEqual([entry.id]);
    expect(rig.store.db.crlState.published).toBeNull();

    rig.now += 2000;
    await drained();
    expect(rig.token.requests.map((r) => r.id)).toEqual(['crl-1', 'crl-2']);
    expect(published()).toEqual(['crl-2.pem']);
    expect(readDoneEntry(rig.queue, entry.id)).toMatchObject({ crlNumber: 2 });
  });

  it('does not publish a CRL whose signature does not verify, and stops trusting the signer', async () => {
    rig.token.answers.push(() => ({ kind: 'crl-signed', signature: Buffer.alloc(72, 1), stable: true }));
    await drained();
    expect(rig.token.distrusted).toEqual([{ id: 'crl-1', reason: 'the CRL signature does not verify with the CA public key' }]);
    expect(events('crl.not-published')).toMatchObject([{ number: 1, reason: 'the signature does not verify with the CA public key' }]);
    expect(published()).toEqual([]);
  });

  it('waits for the token when the signature was never made (not-sent), publishing nothing', async () => {
    rig.token.answers.push(() => {
      rig.token.state = 'absent';
      return { kind: 'not-sent' };
    });
    await drained();
    expect(events('crl.not-published')).toMatchObject([{ reason: 'token not ready' }]);
    expect(events('revocation.waiting')).toHaveLength(1);
    rig.now += 2000;
    rig.token.becomeReady();
    await vi.waitFor(() => expect(published()).toEqual(['crl-2.pem']), { timeout: 10_000, interval: 10 });
  });

  it('re-signs once fewer than CRL_REISSUE_DAYS remain, not before', async () => {
    await drained();
    rig.now = T0 + 30 * DAY - 7 * DAY - 60_000;
    await drained('rescan');
    expect(rig.token.requests).toHaveLength(1);
    rig.now = T0 + 30 * DAY - 7 * DAY + 60_000;
    await drained('rescan');
    expect(rig.token.requests.map((r) => r.id)).toEqual(['crl-1', 'crl-2']);
    expect(rig.store.db.crlState.published).toMatchObject({ number: 2, nextUpdate: Math.floor(rig.now / 1000) * 1000 + 30 * DAY });
  });

  it('tells the operator (crl.expiring) when the CRL is due and the token is not usable, at most every six hours', async () => {
    await drained();
    rig.token.state = 'absent';
    rig.now = T0 + 30 * DAY - 8 * DAY;
    await drained('rescan');
    expect(events('crl.expiring')).toEqual([]);
    rig.now = T0 + 30 * DAY - 6 * DAY;
    await drained('rescan');
    expect(events('crl.expiring')).toMatchObject([{ number: 1, nextUpdate: new Date(T0 + 30 * DAY).toISOString() }]);
    expect(rig.notified).toMatchObject([{ event: 'crl.expiring', details: { crlNumber: 1, nextUpdate: new Date(T0 + 30 * DAY).toISOString() } }]);
    rig.now += 5 * 3600_000;
    await drained('rescan');
    expect(rig.notified).toHaveLength(1);
    rig.now += 3600_000;
    await drained('rescan');
    expect(rig.notified).toHaveLength(2);
    expect(rig.token.requests).toHaveLength(1);
  });

  it('lists a revoked certificate until it expires, then drops it only with CRL_DROP_EXPIRED', async () => {
    for (const drop of [false, true]) {
      rig.service.stop();
      rmSync(dir, { recursive: true, force: true });
      dir = mkdtempSync(join(tmpdir(), 'revocation-service-'));
      rig = makeRig({ crlDropExpired: drop });
      certificates(2, T0 + DAY);
      enqueue(serialOf(1));
      await drained();
      expect(events('crl.issued').at(-1)).toMatchObject({ entries: 1 });
      rig.now = T0 + 2 * DAY;
      enqueue(serialOf(2));
      await drained();
      // Both expired by now: with CRL_DROP_EXPIRED none is listed, without it both are.
      expect(events('crl.issued').at(-1)).toMatchObject({ number: 2, entries: drop ? 0 : 2 });
    }
  });

  it('ends an entry naming no certificate of this CA in done/, refused, without a CRL for it', async () => {
    const entry = enqueue('ABCDEF');
    await drained();
    expect(events('revocation.refused')).toMatchObject([{ serial: 'ABCDEF' }]);
    expect(readDoneEntry(rig.queue, entry.id)).toMatchObject({ crlNumber: null, refused: 'unknown serial' });
    // The first CRL (none was published) is the only one.
    expect(rig.token.requests.map((r) => r.id)).toEqual(['crl-1']);
  });

  it('removes done/ entries after a day, checking at most hourly', async () => {
    certificates(2);
    const old = enqueue(serialOf(1));
    await drained();
    rig.now += 2000;
    const recent = enqueue(serialOf(2));
    await drained();
    const oldPath = join(rig.queue.done, `${old.id}.json`);
    const recentPath = join(rig.queue.done, `${recent.id}.json`);
    expect(existsSync(oldPath) && existsSync(recentPath)).toBe(true);
    // One done two days ago, by its file time.
    const twoDaysAgo = new Date(T0 - 2 * DAY);
    utimesSync(oldPath, twoDaysAgo, twoDaysAgo);
    // The first drain pruned (nothing yet); the next prune comes an hour later.
    rig.now = T0 + 30 * 60_000;
    await drained();
    expect(existsSync(oldPath)).toBe(true);
    rig.now = T0 + 3600_000;
    await drained();
    expect(existsSync(oldPath)).toBe(false);
    expect(existsSync(recentPath)).toBe(true);
    expect(events('revocation.pruned')).toMatchObject([{ removed: 1 }]);
  });
});
