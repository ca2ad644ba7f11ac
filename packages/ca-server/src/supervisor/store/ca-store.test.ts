import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeJournal, encodeRecord } from '@etoken-ca/contract/core/cadb/journal';
import { JournalDamageError } from '@etoken-ca/contract/io/cadb/journal-files';
import { loadCaDatabase } from '@etoken-ca/contract/io/cadb/load';
import type { AuditRecord } from '../audit-log.js';
import { CaStore, derToPem, type StoreOptions } from './ca-store.js';

let dir: string;
const req = (n: number): string => n.toString(16).padStart(32, '0');
const serialOf = (n: number): string => (n + 0x10).toString(16).toUpperCase();
const DER = Buffer.from('not really a certificate').toString('base64');
const DER_BYTES = Buffer.from(DER, 'base64');

function issue(store: CaStore, n: number, at = Date.now()): void {
  const serial = serialOf(n);
  store.append({ t: 'reserve', req: req(n), serial, subject: `/CN=user ${n}`, notAfter: Date.UTC(2030, 0, 1), at });
  const entry = store.append({ t: 'issue', req: req(n), serial, der: DER, at });
  store.recordIssued(entry!, DER_BYTES);
}

const indexLines = (): string[] => readFileSync(join(dir, 'index.txt'), 'utf8').split('\n').filter(Boolean);
const segments = (): string[] => readdirSync(join(dir, 'journal')).sort();
const checkpointFile = (): { generation: number; segment: number; offset: number; indexBytes: number } => JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));

function open(options: StoreOptions = {}): Promise<CaStore> {
  return CaStore.open(dir, options);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ca-'));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe('CaStore', () => {
  it('creates an openssl ca directory and appends one index line per certificate', async () => {
    const store = await open();
    issue(store, 1);
    issue(store, 2);
    await store.commit();
    expect(readFileSync(join(dir, 'index.txt.attr'), 'utf8')).toBe('unique_subject = no\n');
    const nextSerial = readFileSync(join(dir, 'serial'), 'utf8').trim();
    expect(nextSerial).toMatch(/^([0-9A-F]{2}){1,16}$/);
    expect(store.db.hasSerial(nextSerial)).toBe(false);
    expect(indexLines()).toHaveLength(2);
    expect(readdirSync(join(dir, 'newcerts')).sort()).toEqual(['11.pem', '12.pem']);
    store.close();
  });

  it('rebuilds index.txt and newcerts/ from the journal after a crash, cutting a torn tail', async () => {
    const store = await open();
    issue(store, 1);
    issue(store, 2);
    await store.commit();
    store.close();
    // crash: lose the derived files' last line, tear the journal
    const index = join(dir, 'index.txt');
    truncateSync(index, statSync(index).size - 5);
    rmSync(join(dir, 'newcerts', '12.pem'));
    const journal = join(dir, 'journal', segments().at(-1)!);
    appendFileSync(journal, '{"t":"issue","req":"');
    const reopened = await open();
    expect(reopened.startup).toMatchObject({ certificates: 2, replayed: 4, tornBytes: 20, newcertsRewritten: ['12'] });
    expect(indexLines()).toHaveLength(2);
    expect(readdirSync(join(dir, 'newcerts'))).toContain('12.pem');
    reopened.close();
    const third = await open();
    expect(third.startup).toMatchObject({ certificates: 2, replayed: 0, tornBytes: 0 });
    third.close();
    // Every segment is whole now.
    for (const name of segments()) {
      const bytes = readFileSync(join(dir, 'journal', name));
      expect(decodeJournal(bytes).validBytes).toBe(bytes.length);
    }
  });

  it('checkpoints on a clean stop, so the next start replays nothing; a close() without it replays', async () => {
    const store = await open();
    issue(store, 1);
    issue(store, 2);
    await store.commit();
    await store.stop();
    const afterStop = await open();
    expect(afterStop.startup).toMatchObject({ certificates: 2, replayed: 0 });
    issue(afterStop, 3);
    await afterStop.commit();
    afterStop.close();
    const afterClose = await open();
    expect(afterClose.startup).toMatchObject({ certificates: 3, replayed: 2 });
    // Nothing came since the start-up checkpoint: the stop writes none.
    const generation = checkpointFile().generation;
    await afterClose.stop();
    expect(checkpointFile().generation).toBe(generation);
  });

  it('keeps a reservation across a checkpoint, so its certificate survives a restart', async () => {
    const store = await open();
    store.append({ t: 'reserve', req: req(7), serial: 'BEEF', subject: '/CN=in flight', notAfter: Date.UTC(2030, 0, 1), at: Date.now() });
    await store.checkpoint(); // the CRL path, while the signer works
    const entry = store.append({ t: 'issue', req: req(7), serial: 'BEEF', der: DER, at: Date.now() });
    store.recordIssued(entry!, DER_BYTES);
    await store.commit();
    store.close();
    const reopened = await open();
    expect(reopened.db.get('BEEF')?.status).toBe('V');
    expect(readFileSync(join(dir, 'index.txt'), 'utf8')).toMatch(/^V\t.*\tBEEF\tunknown\t\/CN=in flight$/m);
    reopened.close();
  });

  it('withholds a serial that was reserved but never recorded', async () => {
    const store = await open();
    store.append({ t: 'reserve', req: req(9), serial: 'ABCD', subject: '/CN=maybe signed', notAfter: Date.UTC(2030, 0, 1), at: 1 });
    await store.commit();
    store.close();
    const reopened = await open();
    expect(reopened.startup.withheld).toEqual(['ABCD']);
    expect(reopened.db.get('ABCD')).toMatchObject({ status: 'R', reason: 'cessationOfOperation', withheld: true });
    expect(readFileSync(join(dir, 'index.txt'), 'utf8')).toMatch(/^R\t300101000000Z\t\d{12}Z,cessationOfOperation\tABCD\tunknown\t\/CN=maybe signed\n$/);
    expect(reopened.db.outcome(req(9))).toMatchObject({ kind: 'withheld', serial: 'ABCD' });
    reopened.close();
  });

  it('keeps the outcome of a finished request across restarts and checkpoints, in the checkpoint', async () => {
    const store = await open();
    issue(store, 3);
    store.append({ t: 'refuse', req: req(4), exit: 65, reason: 'no', at: Date.now() });
    await store.commit();
    store.close();
    for (let restart = 0; restart < 3; restart++) {
      const reopened = await open();
      expect(reopened.startup.replayed).toBe(restart === 0 ? 3 : 0);
      expect(reopened.db.get('13')?.status).toBe('V');
      expect(reopened.db.outcome(req(3))).toMatchObject({ kind: 'issued', serial: '13' });
      expect(reopened.issuedPem('13')).toBe(derToPem(DER_BYTES));
      expect(reopened.db.outcome(req(4))).toMatchObject({ kind: 'refused', reason: 'no' });
      await reopened.checkpoint();
      expect(reopened.db.outcome(req(3))).toMatchObject({ kind: 'issued' });
      reopened.close();
    }
  });

  it('forgets outcomes on time, without waiting for a checkpoint, and does not bring them back', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = Date.now();
    const retention = 60_000;
    const store = await open({ clock: () => now, settings: { outcomeRetentionMs: retention, checkpointIntervalMs: 3_600_000 } });
    store.start();
    store.append({ t: 'refuse', req: req(5), exit: 65, reason: 'old', at: now });
    await store.commit();
    now += retention + 1;
    vi.advanceTimersByTime(11_000);
    expect(store.db.outcome(req(5))).toBeUndefined();
    store.close();
    const reopened = await open({ clock: () => now, settings: { outcomeRetentionMs: retention } });
    expect(reopened.db.outcome(req(5))).toBeUndefined();
    reopened.close();
  });

  it('holds at most maxOutcomes outcomes: refuses new requests as busy until the oldest go, within a second of their time', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = Date.now();
    const retention = 60_000;
    const store = await open({ clock: () => now, settings: { outcomeRetentionMs: retention, maxOutcomes: 3, checkpointIntervalMs: 3_600_000 } });
    store.start();
    store.append({ t: 'refuse', req: req(1), exit: 65, reason: 'first', at: now });
    now += retention - 5_000;
    issue(store, 2, now);
    issue(store, 3, now);
    await store.commit();
    expect(store.refusal()).toMatchObject({ problem: 'busy', clientReason: 'CA busy, too many requests in the last minutes; try again later' });
    // Kept until its time, however full: a repeat of it is answered, never taken as new.
    vi.advanceTimersByTime(1_000);
    expect(store.db.outcome(req(1))).toBeDefined();
    // Then gone at the next pass, a second later, not at the usual ten seconds.
    now += 5_001;
    vi.advanceTimersByTime(1_000);
    expect(store.db.outcome(req(1))).toBeUndefined();
    expect(store.db.outcome(req(2))).toBeDefined();
    expect(store.refusal()).toBeNull();
    store.close();
  });

  it('rotates the journal into segments of a bounded size and reads them all back', async () => {
    const store = await open({ settings: { segmentBytes: 4096, checkpointBytes: 1 << 30 } });
    for (let n = 1; n <= 60; n++) {
      issue(store, n);
      await store.commit();
    }
    store.close();
    expect(segments().length).toBeGreaterThanOrEqual(4);
    for (const name of segments().slice(0, -1)) expect(statSync(join(dir, 'journal', name)).size).toBeLessThan(4096 + 1024);
    const reopened = await open();
    expect(reopened.db.size).toBe(60);
    expect(reopened.startup.replayed).toBeGreaterThanOrEqual(120);
    reopened.close();
  });

  it('checkpoints on its own once enough records came, so a restart replays only what came after', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const logs: AuditRecord[] = [];
    const log = { info: (r: AuditRecord) => void logs.push(r), warn: (r: AuditRecord) => void logs.push(r), error: (r: AuditRecord) => void logs.push(r) };
    const store = await open({ settings: { checkpointRecords: 50, checkpointIntervalMs: 3_600_000 }, log });
    store.start();
    for (let n = 1; n <= 30; n++) issue(store, n);
    await store.commit();
    const before = checkpointFile();
    vi.advanceTimersByTime(1000);
    await vi.waitFor(() => expect(checkpointFile().generation).toBe(before.generation + 1));
    expect(logs.filter((r) => r.event === 'db.checkpoint').at(-1)).toMatchObject({ rewritten: false });
    issue(store, 31);
    await store.commit();
    store.close();
    const reopened = await open();
    expect(reopened.startup.replayed).toBe(2);
    expect(reopened.db.size).toBe(31);
    reopened.close();
  });

  it('rewrites index.txt when a line changed, while certificates keep coming, and loses none of them', async () => {
    const store = await open();
    // More rows than one piece of the rewrite (10,000 lines), so that requests run between its pieces.
    for (let n = 1; n <= 12_000; n++) {
      store.append({ t: 'import', serial: serialOf(n), status: 'V', notAfter: Date.UTC(2030, 0, 1), subject: `/CN=user ${n}`, from: '/old/ca', at: 1 });
    }
    await store.commit();
    await store.checkpoint();
    store.append({ t: 'revoke', serial: serialOf(5), reason: 'keyCompromise', at: Date.now(), by: 'root' });
    const running = store.checkpoint();
    // Issued while the rewrite runs: before, during and after its rows are generated.
    const during: Promise<void>[] = [];
    for (let n = 12_001; n <= 12_040; n++) {
      during.push(
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, (n - 12_000) * 2));
          const serial = serialOf(n);
          store.append({ t: 'reserve', req: req(n), serial, subject: `/CN=user ${n}`, notAfter: Date.UTC(2030, 0, 1), at: 1 });
          const entry = store.append({ t: 'issue', req: req(n), serial, der: DER, at: 1 });
          await store.commit();
          store.recordIssued(entry!, DER_BYTES);
        })(),
      );
    }
    await Promise.all([running, ...during]);
    const lines = indexLines();
    expect(lines).toHaveLength(12_040);
    expect(new Set(lines.map((l) => l.split('\t')[3])).size).toBe(12_040);
    expect(lines[4]).toMatch(/^R\t.*,keyCompromise\t15\t/);
    expect(existsSync(join(dir, `index.txt.${checkpointFile().generation}.new`))).toBe(false);
    store.close();
    const reopened = await open();
    expect(reopened.db.size).toBe(12_040);
    expect(reopened.db.get(serialOf(5))?.status).toBe('R');
    reopened.close();
  }, 30_000);

  it('reads the index a checkpoint rewrote when the power went before its rename', async () => {
    const store = await open();
    issue(store, 1);
    issue(store, 2);
    store.append({ t: 'revoke', serial: serialOf(1), reason: 'superseded', at: Date.now(), by: 'root' });
    await store.checkpoint();
    store.close();
    const { generation, indexBytes } = checkpointFile();
    // The state before the rename: the new index under its own name, the old index.txt (lines of another length) in place.
    const rewritten = readFileSync(join(dir, 'index.txt'));
    writeFileSync(join(dir, `index.txt.${generation}.new`), rewritten);
    writeFileSync(join(dir, 'index.txt'), 'V\t300101000000Z\t\t11\tunknown\t/CN=user 1\n');
    expect(rewritten.length).toBe(indexBytes);
    expect(loadCaDatabase(dir).db.get(serialOf(1))?.status).toBe('R');
    const reopened = await open();
    expect(reopened.db.get(serialOf(1))?.status).toBe('R');
    expect(readFileSync(join(dir, 'index.txt'))).toEqual(rewritten);
    expect(existsSync(join(dir, `index.txt.${generation}.new`))).toBe(false);
    reopened.close();
  });

  it('refuses to start on damage followed by whole records, and says where', async () => {
    const store = await open();
    for (let n = 1; n <= 3; n++) issue(store, n);
    await store.commit();
    store.close();
    const path = join(dir, 'journal', segments().at(-1)!);
    const bytes = readFileSync(path);
    const first = decodeJournal(bytes);
    expect(first.damage).toBeNull();
    // A record in the middle damaged: what came after was acknowledged, nothing may be cut.
    const at = bytes.indexOf('"t":"issue"');
    bytes[at + 2] = 0x58;
    writeFileSync(path, bytes);
    const refused = open();
    await expect(refused).rejects.toBeInstanceOf(JournalDamageError);
    await expect(refused).rejects.toMatchObject({ exitCode: 65, message: expect.stringMatching(/is damaged at byte \d+ \(checksum .*\).*whole record\(s\) follow from byte \d+/) });
    expect(readFileSync(path)).toEqual(bytes);
  });

  it('says so when a journal is in the format of an earlier version', async () => {
    const store = await open();
    store.close();
    writeFileSync(join(dir, 'journal', segments().at(-1)!), `${JSON.stringify({ t: 'answer', req: req(1), at: 1 })}\n`);
    await expect(open()).rejects.toMatchObject({ exitCode: 78, message: expect.stringMatching(/earlier version/) });
  });

  it('takes records framed by encodeRecord appended from outside (as the tests do)', async () => {
    const store = await open();
    store.close();
    appendFileSync(join(dir, 'journal', segments().at(-1)!), encodeRecord({ t: 'crl-number', number: 9, thisUpdate: 1, at: 1 }));
    const reopened = await open();
    expect(reopened.db.crlState.lastNumber).toBe(9);
    expect(readFileSync(join(dir, 'crlnumber'), 'utf8')).toBe('0A\n');
    reopened.close();
  });
});
