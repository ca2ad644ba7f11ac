/**
 * The store when the file system fails it: writes and flushes of node:fs
 * are made to fail on demand (the integration tests do the same to the real
 * server through test/fs-shim).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeJournal } from '@etoken-ca/contract/core/cadb/journal';
import type { ScepWorkflow } from '@etoken-ca/contract/core/scep/scep-records';
import type { AuditRecord } from '../audit-log.js';
import { CaStore } from './ca-store.js';
import { StoreError } from './store-error.js';

/** How many of the next calls fail. */
const faults = vi.hoisted(() => ({ fdatasync: 0, write: 0 }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const failure = (code: string, call: string): Error => Object.assign(new Error(`${code}: injected, ${call}`), { code });
  const fdatasync = (fd: number, callback: (e: Error | null) => void): void => {
    if (faults.fdatasync > 0) {
      faults.fdatasync--;
      return callback(failure('EIO', 'fdatasync'));
    }
    fs.fdatasync(fd, callback);
  };
  const writeSync = (...args: Parameters<typeof fs.writeSync>): number => {
    if (faults.write > 0) {
      faults.write--;
      throw failure('ENOSPC', 'write');
    }
    return fs.writeSync(...args);
  };
  return { ...fs, default: { ...fs, fdatasync, writeSync }, fdatasync, writeSync };
});

let dir: string;
const req = (n: number): string => n.toString(16).padStart(32, '0');
const DER = Buffer.from('not really a certificate').toString('base64');
const NOT_AFTER = Date.UTC(2030, 0, 1);

const workflow: ScepWorkflow = {
  txid: 'tx1',
  req: req(21),
  kind: 'enroll',
  request: 'b'.repeat(64),
  subject: [{ type: 'CN', value: 'host1.example.org' }],
  spki: 'MII=',
  dnsNames: [],
  ipAddresses: [],
  auth: 'none',
  eligible: null,
  approvals: [],
  created: 0,
  expires: Date.now() + 3_600_000,
  state: 'pending',
};

function journalRecords(): { records: number; damage: unknown } {
  const journal = join(dir, 'journal');
  let records = 0;
  for (const name of readdirSync(journal)) {
    const decoded = decodeJournal(readFileSync(join(journal, name)));
    if (decoded.damage) return { records, damage: decoded.damage };
    records += decoded.records.length;
  }
  return { records, damage: null };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ca-faults-'));
  faults.fdatasync = 0;
  faults.write = 0;
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe('CaStore on a failing file system', () => {
  it('withholds the batch of a failed flush, takes its SCEP workflow back to pending, and goes on from what is on disk', async () => {
    const store = await CaStore.open(dir);
    store.append({ t: 'scep', step: 'workflow', workflow, at: 1 });
    await store.commit();
    store.append({ t: 'reserve', req: req(21), serial: '21', subject: '/CN=host1.example.org', notAfter: NOT_AFTER, at: 2 });
    store.append({ t: 'issue', req: req(21), serial: '21', der: DER, at: 2 });
    store.append({ t: 'scep', step: 'finish', txid: 'tx1', serial: '21', reason: 'issued', at: 2 });
    faults.fdatasync = 1;
    const failed = await store.commit().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StoreError);
    expect(store.db.get('21')).toMatchObject({ status: 'R', withheld: true });
    expect(store.db.outcome(req(21))).toMatchObject({ kind: 'withheld' });
    expect(store.db.scep.workflow('tx1')?.state).toBe('pending');
    // Rewritten and flushed: requests are taken again.
    expect(store.refusal()).toBeNull();
    store.append({ t: 'reserve', req: req(22), serial: '22', subject: '/CN=next', notAfter: NOT_AFTER, at: 3 });
    store.append({ t: 'issue', req: req(22), serial: '22', der: DER, at: 3 });
    await store.commit();
    store.close();

    expect(journalRecords().damage).toBeNull();
    const reopened = await CaStore.open(dir);
    expect(reopened.db.get('21')).toMatchObject({ status: 'R', withheld: true });
    expect(reopened.db.get('22')?.status).toBe('V');
    expect(reopened.db.scep.workflow('tx1')).toEqual(workflow);
    expect(readFileSync(join(dir, 'index.txt'), 'utf8')).toMatch(/^R\t\d{12}Z\t\d{12}Z,cessationOfOperation\t21\t/m);
    reopened.close();
  });

  it('tries a failed automatic checkpoint again after CHECKPOINT_INTERVAL when that is shorter than its 10 s', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = Date.UTC(2026, 0, 1);
    const logs: { record: AuditRecord; message: string }[] = [];
    const keep = (record: AuditRecord, message: string): void => void logs.push({ record, message });
    const events = (name: string): string[] => logs.filter((l) => l.record.event === name).map((l) => l.message);
    const store = await CaStore.open(dir, { clock: () => now, settings: { checkpointIntervalMs: 2000 }, log: { info: keep, warn: keep, error: keep } });
    store.start();
    store.append({ t: 'reserve', req: req(1), serial: '01', subject: '/CN=a', notAfter: NOT_AFTER, at: now });
    await store.commit();
    const tick = (ms: number): void => {
      now += ms;
      vi.advanceTimersByTime(1000);
    };
    faults.fdatasync = 1;
    tick(2000);
    await vi.waitFor(() => expect(events('db.checkpoint-failed')).toEqual([expect.stringMatching(/^checkpoint failed, tried again in 2 s: /)]));
    const checkpoints = events('db.checkpoint').length;
    tick(1000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events('db.checkpoint')).toHaveLength(checkpoints);
    tick(1000);
    await vi.waitFor(() => expect(events('db.checkpoint')).toHaveLength(checkpoints + 1));
    store.close();
  });

  it('refuses a record the disk cannot take, leaves no trace of it, and marks the disk full', async () => {
    const alerts: string[] = [];
    const store = await CaStore.open(dir, { notify: (event) => alerts.push(event), settings: { reserveBytes: 1 } });
    store.append({ t: 'reserve', req: req(1), serial: '01', subject: '/CN=a', notAfter: NOT_AFTER, at: 1 });
    await store.commit();
    const before = journalRecords().records;
    faults.write = 1;
    let thrown: unknown;
    try {
      store.append({ t: 'issue', req: req(1), serial: '01', der: DER, at: 2 });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ problem: 'disk-full', code: 'ENOSPC' });
    expect((thrown as StoreError).clientReason).toBe('CA disk full; try again later');
    expect(store.refusal()?.problem).toBe('disk-full');
    expect(alerts).toEqual(['alert.ca-disk-reserve']);
    expect(store.db.get('01')).toBeUndefined();
    expect(journalRecords()).toEqual({ records: before, damage: null });
    // A record the server must not lose waits, and is written once the disk is measured with room again.
    faults.write = 1;
    store.appendOrDefer({ t: 'release', serial: '01', at: 3 });
    expect(journalRecords().records).toBe(before);
    store.start();
    expect(store.refusal()).toBeNull();
    await store.commit();
    store.close();
    expect(journalRecords()).toEqual({ records: before + 1, damage: null });
    const reopened = await CaStore.open(dir);
    expect(reopened.startup.withheld).toEqual([]);
    reopened.close();
  });
});
