import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CaStore, derToPem, OUTCOME_RETENTION_MS } from './ca-store.js';

let dir: string;
const req = (n: number): string => n.toString(16).padStart(32, '0');
const DER = Buffer.from('not really a certificate').toString('base64');
const DER_BYTES = Buffer.from(DER, 'base64');

function issue(store: CaStore, n: number): void {
  const serial = (n + 0x10).toString(16).toUpperCase();
  store.append({ t: 'reserve', req: req(n), serial, subject: `/CN=user ${n}`, notAfter: Date.UTC(2030, 0, 1), at: Date.now() });
  const entry = store.append({ t: 'issue', req: req(n), serial, der: DER, at: Date.now() });
  store.recordIssued(entry!, DER_BYTES);
}

function journalFiles(): string[] {
  return readdirSync(join(dir, 'journal')).map((f) => join(dir, 'journal', f));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ca-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('CaStore', () => {
  it('creates an openssl ca directory and appends one index line per certificate', async () => {
    const store = new CaStore(dir);
    issue(store, 1);
    issue(store, 2);
    await store.commit();
    expect(readFileSync(join(dir, 'index.txt.attr'), 'utf8')).toBe('unique_subject = no\n');
    const nextSerial = readFileSync(join(dir, 'serial'), 'utf8').trim();
    expect(nextSerial).toMatch(/^([0-9A-F]{2}){1,16}$/);
    expect(store.db.hasSerial(nextSerial)).toBe(false);
    expect(readFileSync(join(dir, 'index.txt'), 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    expect(readdirSync(join(dir, 'newcerts')).sort()).toEqual(['11.pem', '12.pem']);
    store.close();
  });

  it('rebuilds index.txt from the journal after a crash, cutting torn lines', () => {
    const store = new CaStore(dir);
    issue(store, 1);
    issue(store, 2);
    // crash: lose the derived files' last line, tear the journal
    const index = join(dir, 'index.txt');
    truncateSync(index, statSync(index).size - 5);
    rmSync(join(dir, 'newcerts', '12.pem'));
    const journal = journalFiles().sort().at(-1)!;
    appendFileSync(journal, '{"t":"issue","req":"');
    const reopened = new CaStore(dir);
    expect(reopened.startup).toMatchObject({ certificates: 2, replayed: 4, tornBytes: 20 });
    expect(readFileSync(index, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    expect(readdirSync(join(dir, 'newcerts'))).toContain('12.pem');
    reopened.close();
    const third = new CaStore(dir);
    expect(third.startup).toMatchObject({ certificates: 2, replayed: 0, tornBytes: 0 });
    third.close();
  });

  it('keeps a reservation across a checkpoint, so its certificate survives a restart', () => {
    const store = new CaStore(dir);
    store.append({ t: 'reserve', req: req(7), serial: 'BEEF', subject: '/CN=in flight', notAfter: Date.UTC(2030, 0, 1), at: Date.now() });
    store.checkpoint(); // the CRL path, while the signer works
    const entry = store.append({ t: 'issue', req: req(7), serial: 'BEEF', der: DER, at: Date.now() });
    store.recordIssued(entry!, DER_BYTES);
    store.close();
    const reopened = new CaStore(dir);
    expect(reopened.db.get('BEEF')?.status).toBe('V');
    expect(readFileSync(join(dir, 'index.txt'), 'utf8')).toMatch(/^V\t.*\tBEEF\tunknown\t\/CN=in flight$/m);
    reopened.close();
  });

  it('withholds a serial that was reserved but never recorded', () => {
    const store = new CaStore(dir);
    store.append({ t: 'reserve', req: req(9), serial: 'ABCD', subject: '/CN=maybe signed', notAfter: Date.UTC(2030, 0, 1), at: 1 });
    store.close();
    const reopened = new CaStore(dir);
    expect(reopened.startup.withheld).toEqual(['ABCD']);
    expect(reopened.db.get('ABCD')).toMatchObject({ status: 'R', reason: 'cessationOfOperation', withheld: true });
    expect(readFileSync(join(dir, 'index.txt'), 'utf8')).toMatch(/^R\t300101000000Z\t\d{12}Z,cessationOfOperation\tABCD\tunknown\t\/CN=maybe signed\n$/);
    expect(reopened.db.outcome(req(9))).toMatchObject({ kind: 'withheld', serial: 'ABCD' });
    reopened.close();
  });

  it('keeps the outcome of a finished request across restarts and checkpoints', () => {
    const store = new CaStore(dir);
    issue(store, 3);
    store.append({ t: 'refuse', req: req(4), exit: 65, reason: 'no', at: Date.now() });
    store.close();
    // Each start-up replays and checkpoints; the outcomes come back from the segments before it.
    for (let restart = 0; restart < 3; restart++) {
      const reopened = new CaStore(dir);
      expect(reopened.db.get('13')?.status).toBe('V');
      expect(reopened.db.outcome(req(3))).toMatchObject({ kind: 'issued', serial: '13' });
      expect(reopened.issuedPem('13')).toBe(derToPem(Buffer.from(DER, 'base64')));
      expect(reopened.db.outcome(req(4))).toMatchObject({ kind: 'refused', reason: 'no' });
      reopened.checkpoint();
      expect(reopened.db.outcome(req(3))).toMatchObject({ kind: 'issued' });
      reopened.close();
    }
  });

  it('forgets outcomes older than the retention once a checkpoint passes them', () => {
    let now = Date.now();
    const store = new CaStore(dir, () => now);
    store.append({ t: 'refuse', req: req(5), exit: 65, reason: 'old', at: now });
    now += OUTCOME_RETENTION_MS + 1;
    store.checkpoint();
    expect(store.db.outcome(req(5))).toBeUndefined();
    store.close();
    expect(new CaStore(dir, () => now).db.outcome(req(5))).toBeUndefined();
  });

  it('writes again at start-up the newcerts files of a checkpoint\'s last minutes that never reached the disk', () => {
    const store = new CaStore(dir);
    issue(store, 1);
    issue(store, 2);
    store.checkpoint(); // the CRL path: both records are out of replay from here on
    store.close();
    // The machine lost power before writing the files back: one empty, one never created.
    const newcert = (serial: string): string => join(dir, 'newcerts', `${serial}.pem`);
    truncateSync(newcert('11'), 0);
    rmSync(newcert('12'));
    const reopened = new CaStore(dir);
    expect(reopened.startup.replayed).toBe(0);
    expect(reopened.startup.newcertsRewritten).toEqual(['12', '11']);
    for (const serial of ['11', '12']) expect(readFileSync(newcert(serial), 'utf8')).toBe(derToPem(Buffer.from(DER, 'base64')));
    reopened.close();
    expect(new CaStore(dir).startup.newcertsRewritten).toEqual([]);
  });

  it('checks only the files of the last minutes before the checkpoint, however long the server was down', () => {
    const hour = 60 * 60_000;
    const at = Date.UTC(2026, 0, 1);
    const store = new CaStore(dir, () => at + hour);
    for (const [n, when] of [[1, at], [2, at + hour]] as const) {
      const serial = (n + 0x10).toString(16).toUpperCase();
      store.append({ t: 'reserve', req: req(n), serial, subject: `/CN=user ${n}`, notAfter: Date.UTC(2030, 0, 1), at: when });
      store.recordIssued(store.append({ t: 'issue', req: req(n), serial, der: DER, at: when })!, DER_BYTES);
    }
    store.checkpoint();
    store.close();
    rmSync(join(dir, 'newcerts', '11.pem'));
    rmSync(join(dir, 'newcerts', '12.pem'));
    const reopened = new CaStore(dir, () => at + 48 * hour);
    expect(reopened.startup.newcertsRewritten).toEqual(['12']);
    expect(existsSync(join(dir, 'newcerts', '11.pem'))).toBe(false);
    reopened.close();
  });
});
