import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIndexLine, type IndexEntry } from '@etoken-ca/contract/core/cadb/index-line';
import { EMPTY_CHECKPOINT, type Checkpoint } from '@etoken-ca/contract/core/cadb/layout';
import { findCertificates } from '@etoken-ca/contract/io/cadb/find';
import { loadCaDatabase } from '@etoken-ca/contract/io/cadb/load';
import type { AuditRecord } from '../audit-log.js';
import { RevokedEntryCache } from '../revocation/revoked-entry-cache.js';
import { CaStore, type StoreOptions } from './ca-store.js';

const DAY = 86400_000;
const now = Date.now();
let dir: string;

const serialOf = (n: number): string => `5E${n.toString(16).toUpperCase().padStart(6, '0')}`;
const expired = (n: number): IndexEntry => ({ serial: serialOf(n), status: 'V', notAfter: now - DAY - n * 1000, subject: `/CN=old ${n}` });
const valid = (n: number): IndexEntry => ({ serial: serialOf(n), status: 'V', notAfter: now + 365 * DAY, subject: `/CN=user ${n}` });
const revoked = (n: number): IndexEntry => ({ serial: serialOf(n), status: 'R', notAfter: now - DAY, revokedAt: now - 2 * DAY, reason: 'keyCompromise', subject: `/CN=gone ${n}` });

/** A CA directory as a checkpoint leaves it: index.txt of these lines, the journal empty. */
function seed(entries: readonly IndexEntry[]): void {
  const text = entries.map(formatIndexLine).join('');
  writeFileSync(join(dir, 'index.txt'), text);
  const checkpoint: Checkpoint = { ...EMPTY_CHECKPOINT, indexBytes: Buffer.byteLength(text) };
  writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify(checkpoint));
}

const indexLines = (): string[] => readFileSync(join(dir, 'index.txt'), 'utf8').split('\n').filter(Boolean);
const checkpointFile = (): Checkpoint => JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as Checkpoint;
const summaries = (): string[] => readdirSync(dir).filter((name) => name.endsWith('.cold'));

function open(options: StoreOptions = {}): Promise<CaStore> {
  return CaStore.open(dir, options);
}

/** Expired lines with revoked and valid ones among them, as a CA's index is after a few years. */
function mixed(): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (let n = 0; n < 300; n++) entries.push(n % 50 === 7 ? revoked(n) : n % 100 === 99 ? valid(n) : expired(n));
  for (let n = 300; n < 320; n++) entries.push(valid(n));
  return entries;
}
const MIXED = { revoked: 6, valid: 23, expired: 291 };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ca-cold-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('CaStore with expired certificates left on disk', () => {
  it('keeps only revoked and unexpired certificates in memory, and never draws a serial of an expired one', async () => {
    seed(mixed());
    const store = await open();
    expect(store.db.size).toBe(MIXED.revoked + MIXED.valid);
    expect(store.startup).toMatchObject({ certificates: 320, expiredOnDisk: MIXED.expired });
    for (let n = 0; n < 300; n++) expect(store.db.hasSerial(serialOf(n))).toBe(true);
    expect(store.db.get(serialOf(1))).toBeUndefined();
    expect(store.db.get(serialOf(7))).toMatchObject({ status: 'R', reason: 'keyCompromise' });
    store.close();
  });

  it('moves the expired lines to the front of index.txt once, summarizes them, and the next start-up reads none of them', async () => {
    const entries = mixed();
    seed(entries);
    const store = await open();
    await store.checkpoint();
    const cold = checkpointFile().cold!;
    expect(cold.lines).toBe(MIXED.expired);
    expect(summaries()).toEqual([`index.txt.${cold.generation}.cold`]);
    const lines = indexLines();
    // Every certificate once; the expired ones first, byte for byte as they were.
    expect(lines.sort()).toEqual(entries.map((e) => formatIndexLine(e).trimEnd()).sort());
    const text = readFileSync(join(dir, 'index.txt'));
    expect(text.subarray(0, cold.bytes).toString().split('\n').filter(Boolean)).toHaveLength(MIXED.expired);
    expect(text.subarray(0, cold.bytes).toString()).not.toMatch(/^R/m);
    store.close();

    // The prefix is never read again: damaging it shows it (a malformed line would stop a start-up that reads it).
    const damaged = Buffer.from(text);
    damaged.fill(0x21, 10, 20);
    writeFileSync(join(dir, 'index.txt'), damaged);
    const again = await open();
    expect(again.db.size).toBe(MIXED.revoked + MIXED.valid);
    expect(again.startup.expiredOnDisk).toBe(MIXED.expired);
    expect(again.db.hasSerial(serialOf(1))).toBe(true);
    again.close();
    // Every other reader still reads everything.
    writeFileSync(join(dir, 'index.txt'), text);
    expect(loadCaDatabase(dir).db.size).toBe(320);
  });

  it('revokes an expired certificate left on disk: read back, its line replaced once, and still revoked after a crash', async () => {
    seed(mixed());
    const first = await open();
    await first.checkpoint();
    first.close();

    const log: AuditRecord[] = [];
    const store = await open({ log: { info: (r) => log.push(r), warn: (r) => log.push(r), error: (r) => log.push(r) } });
    const serial = serialOf(3);
    expect(store.db.get(serial)).toBeUndefined();
    const entry = store.certificate(serial);
    expect(entry).toMatchObject({ serial, status: 'V', subject: '/CN=old 3' });
    expect(log.map((r) => r.event)).toContain('db.cold-read');
    store.append({ t: 'revoke', serial, reason: 'keyCompromise', at: now, by: 'root', queue: 'q1' });
    await store.commit();
    // revoke-cert's lookup reads the prefix only for what it did not find after it, and sees the revocation.
    const found = findCertificates(dir, [serial, serialOf(1), serialOf(7), serialOf(310), 'FFFF']);
    expect([...found.keys()].sort()).toEqual([serial, serialOf(1), serialOf(7), serialOf(310)].sort());
    expect(found.get(serial)).toMatchObject({ status: 'R' });
    expect(found.get(serialOf(1))).toMatchObject({ status: 'V', subject: '/CN=old 1' });
    // A crash before any checkpoint: the journal's revocation finds the line again.
    store.close();
    const afterCrash = await open();
    expect(afterCrash.db.get(serial)).toMatchObject({ status: 'R', reason: 'keyCompromise' });
    expect(indexLines().filter((l) => l.includes(`\t${serial}\t`))).toEqual([formatIndexLine({ ...expired(3), status: 'R', revokedAt: now, reason: 'keyCompromise' }).trimEnd()]);
    expect(checkpointFile().cold!.lines).toBe(MIXED.expired - 1);
    afterCrash.close();

    const later = await open();
    expect(later.db.get(serial)).toMatchObject({ status: 'R' });
    expect(later.startup).toMatchObject({ certificates: 320, expiredOnDisk: MIXED.expired - 1 });
    expect(indexLines()).toHaveLength(320);
    later.close();
  });

  it('reads the whole index when the summary is damaged, says so, and writes it again', async () => {
    seed(mixed());
    const first = await open();
    await first.checkpoint();
    first.close();
    const [name] = summaries();
    const damaged = readFileSync(join(dir, name!));
    damaged[damaged.length - 1]! ^= 1;
    writeFileSync(join(dir, name!), damaged);

    const log: AuditRecord[] = [];
    const store = await open({ log: { info: (r) => log.push(r), warn: (r) => log.push(r), error: (r) => log.push(r) } });
    expect(log.map((r) => r.event)).toContain('db.cold-summary-unusable');
    expect(store.db.size).toBe(MIXED.revoked + MIXED.valid);
    await store.checkpoint();
    expect(summaries()).toEqual([`index.txt.${checkpointFile().cold!.generation}.cold`]);
    store.close();
    const again = await open();
    expect(again.startup.expiredOnDisk).toBe(MIXED.expired);
    again.close();
  });
});

describe('CaStore leaving certificates that expire while it runs on disk', () => {
  const DER = Buffer.from('not really a certificate');
  const req = (n: number): string => n.toString(16).padStart(32, '0');

  function issue(store: CaStore, n: number, notAfter: number, at: number): void {
    store.append({ t: 'reserve', req: req(n), serial: serialOf(n), subject: `/CN=user ${n}`, notAfter, at });
    const entry = store.append({ t: 'issue', req: req(n), serial: serialOf(n), der: DER.toString('base64'), at });
    store.recordIssued(entry!, DER);
  }

  it('moves them among the cold lines at a checkpoint once enough have expired, and keeps the rest, revoked ones included, in memory', async () => {
    let clock = now;
    const store = await open({ clock: () => clock, settings: { leaveOnDiskRows: 10 } });
    for (let n = 0; n < 40; n++) issue(store, n, n < 30 ? now + 60_000 : now + 365 * DAY, clock);
    store.append({ t: 'revoke', serial: serialOf(5), reason: 'superseded', at: clock, by: 'root', queue: 'q1' });
    await store.commit();
    await store.checkpoint();
    expect(store.db.size).toBe(40);
    const cache = new RevokedEntryCache();
    expect(cache.select(store.db, null).count).toBe(1);

    // A minute later 29 have expired (the revoked one stays for the CRL).
    clock += 120_000;
    store.append({ t: 'revoke', serial: serialOf(35), reason: 'keyCompromise', at: clock, by: 'root', queue: 'q2' });
    await store.commit();
    await store.checkpoint();
    expect(store.db.size).toBe(11);
    expect(store.db.get(serialOf(0))).toBeUndefined();
    expect(store.db.hasSerial(serialOf(0))).toBe(true);
    expect(checkpointFile().cold).toMatchObject({ lines: 29 });
    const listed = cache.select(store.db, null);
    expect(listed.count).toBe(2);
    expect(listed.der).toEqual(new RevokedEntryCache().select(store.db, null).der);
    expect(indexLines().sort()).toEqual(loadCaDatabase(dir).db.indexLines(0, 40).split('\n').filter(Boolean).sort());
    expect(indexLines()).toHaveLength(40);

    // One of them revoked after it left memory: read back, and written once, revoked.
    expect(store.certificate(serialOf(3))).toMatchObject({ status: 'V' });
    store.append({ t: 'revoke', serial: serialOf(3), reason: 'keyCompromise', at: clock, by: 'root', queue: 'q3' });
    await store.commit();
    await store.checkpoint();
    expect(indexLines().filter((l) => l.includes(`\t${serialOf(3)}\t`))).toEqual([expect.stringMatching(/^R\t/)]);
    expect(cache.select(store.db, null).count).toBe(3);
    await store.stop();

    const again = await open({ clock: () => clock });
    expect(again.startup).toMatchObject({ certificates: 40, expiredOnDisk: 28 });
    expect(again.db.size).toBe(12);
    again.close();
  });
});

describe('CaStore reading a cold certificate back while a checkpoint rewrites the index', () => {
  it('ends with each certificate once in index.txt, whenever the revocation comes', async () => {
    seed(mixed());
    const store = await open();
    await store.checkpoint();
    const serials = [1, 2, 3, 4, 6].map(serialOf);
    for (const [i, serial] of serials.entries()) {
      // Something to rewrite for: a line changed.
      store.append({ t: 'revoke', serial: serialOf(300 + i), reason: 'superseded', at: now, by: 'root', queue: `a${i}` });
      const running = store.checkpoint();
      for (let tick = 0; tick < i * 3; tick++) await new Promise((resolve) => setImmediate(resolve));
      expect(store.certificate(serial)).toMatchObject({ status: 'V' });
      store.append({ t: 'revoke', serial, reason: 'keyCompromise', at: now, by: 'root', queue: `b${i}` });
      await store.commit();
      await running;
      await store.checkpoint();
      const lines = indexLines();
      expect(lines).toHaveLength(320);
      expect(new Set(lines.map((l) => l.split('\t')[3])).size).toBe(320);
      expect(lines.filter((l) => l.includes(`\t${serial}\t`))).toEqual([expect.stringMatching(/^R\t/)]);
    }
    await store.stop();
    const again = await open();
    expect(again.startup).toMatchObject({ certificates: 320, expiredOnDisk: MIXED.expired - serials.length });
    for (const serial of serials) expect(again.db.get(serial)).toMatchObject({ status: 'R' });
    again.close();
  });
});
