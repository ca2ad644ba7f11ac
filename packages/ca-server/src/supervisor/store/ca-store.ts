/**
 * The server's side of the CA database: the only writer.
 *
 * - The journal (journal-writer.ts) is the record: every write checked, one
 *   fdatasync per batch of requests (GroupCommit) before any answer, a
 *   failed write cut off, a failed flush followed by a rewrite from what is
 *   known to be on disk before anything more is acknowledged, and issuance
 *   stopped with an alert when even that fails.
 * - index.txt, newcerts/, serial and crlnumber are derived: appended or
 *   written after the answer without a flush, repaired when a write failed
 *   (the index is rewritten, a newcerts/ file kept in memory until it can be
 *   written), and made durable by checkpoints.
 * - A checkpoint runs on its own (journal bytes, records, time), off the
 *   issuance path: it waits for the derived files of the records before its
 *   position, flushes them and the journal, and then moves checkpoint.json,
 *   which also keeps the recent request outcomes. Start-up reads index.txt
 *   and the journal after the checkpoint: its time and memory depend on the
 *   database and the checkpoint interval, never on the uptime.
 * - The free-space reserve (disk-reserve.ts) refuses new requests before
 *   the disk is full, so that revocations, CRLs and checkpoints still find
 *   room.
 */
import { constants, existsSync, fdatasync, ftruncateSync, mkdirSync, openSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CaDatabase, INDEX_CHUNK_LINES, type CertEntry } from '@etoken-ca/contract/core/cadb/database';
import { formatIndexLine } from '@etoken-ca/contract/core/cadb/index-line';
import type { JournalRecord } from '@etoken-ca/contract/core/cadb/journal';
import { caLayout, rewrittenIndexName, segmentName, type CaLayout, type Checkpoint, type ColdPrefix } from '@etoken-ca/contract/core/cadb/layout';
import type { SerialHex } from '@etoken-ca/contract/core/serial';
import { indexLineOf } from '@etoken-ca/contract/io/cadb/find';
import { loadCaDatabase } from '@etoken-ca/contract/io/cadb/load';
import type { AuditLog } from '../audit-log.js';
import { closeQuietly, fsyncDirectory, unlinkQuietly, writeAll, writeFileAtomic } from '@etoken-ca/contract/io/atomic-file';
import { fsyncPath, writeAllAsync, writeFileAtomicAsync } from './checked-io.js';
import { copyColdLines, removeOtherSummaries, writeColdSummary } from './cold-index.js';
import { DiskReserve, type DiskSpace, type ReserveChange } from './disk-reserve.js';
import { GroupCommit } from './group-commit.js';
import { JournalWriter } from './journal-writer.js';
import { NewcertsFiles } from './newcerts.js';
import { isDiskFull, storeError, StoreError } from './store-error.js';

export { derToPem } from './newcerts.js';

const fdatasyncAsync = promisify(fdatasync);
const MB = 1024 * 1024;

export interface StoreSettings {
  /** A journal segment is closed, and the next one begun, once it holds this much. */
  readonly segmentBytes: number;
  /** A checkpoint runs once this many journal bytes, or records, came after the last one, */
  readonly checkpointBytes: number;
  readonly checkpointRecords: number;
  /** ... or this long after it, when anything came at all. */
  readonly checkpointIntervalMs: number;
  /** How long a finished request's outcome is kept (in memory and across restarts) to answer its client again instead of signing twice. */
  readonly outcomeRetentionMs: number;
  /** Free space kept in CA_DIR's filesystem for revocations, CRLs and checkpoints: below it new requests are refused. */
  readonly reserveBytes: number;
  /**
   * At most this many outcomes are held: with as many, new requests are refused (exit 75) until the oldest are
   * forgotten on time. Dropping an outcome early instead would let its request, seen again, be signed twice.
   */
  readonly maxOutcomes: number;
  /**
   * Certificates expired while the server runs leave memory (cold-lines.ts) once this many are held: a checkpoint
   * then rewrites index.txt with their lines among the cold ones. Fewer are not worth a rewrite of the whole index.
   */
  readonly leaveOnDiskRows: number;
}

/**
 * Outcomes are needed while a client may still wait for its answer (at most
 * CLIENT_TIMEOUT from its request, 110 s at most) and while its lock may
 * still be seen (a client that gave up removes it; the sweeper removes a dead
 * client's CLIENT_TIMEOUT + 10 s after first seeing it, rescanning every 2
 * s): CLIENT_TIMEOUT and half a minute. Kept longer they would only cost
 * memory, and time at a restart: at a thousand certificates a second, each
 * minute of outcomes is some 60,000 of them.
 */
export const outcomeRetentionMs = (clientTimeoutS: number): number => (clientTimeoutS + 30) * 1000;

export const DEFAULT_STORE_SETTINGS: StoreSettings = {
  segmentBytes: 16 * MB,
  checkpointBytes: 64 * MB,
  checkpointRecords: 100_000,
  checkpointIntervalMs: 300_000,
  outcomeRetentionMs: outcomeRetentionMs(60),
  reserveBytes: 64 * MB,
  // About 50 MB; held for CLIENT_TIMEOUT + 30 s (140 s at most), it takes over 1,700 requests a second to fill.
  maxOutcomes: 250_000,
  // About 10 MB of rows; a CA issuing a thousand certificates a day gets there in 50 days.
  leaveOnDiskRows: 50_000,
};

/** The settings a configuration gives: a checkpoint after four segments' worth of journal. */
export function storeSettings(config: { journalSegmentKb: number; checkpointInterval: number; clientTimeout: number; caDiskReserveMb: number }): StoreSettings {
  const segmentBytes = config.journalSegmentKb * 1024;
  return {
    segmentBytes,
    checkpointBytes: 4 * segmentBytes,
    checkpointRecords: DEFAULT_STORE_SETTINGS.checkpointRecords,
    checkpointIntervalMs: config.checkpointInterval * 1000,
    outcomeRetentionMs: outcomeRetentionMs(config.clientTimeout),
    reserveBytes: config.caDiskReserveMb * MB,
    maxOutcomes: DEFAULT_STORE_SETTINGS.maxOutcomes,
    leaveOnDiskRows: DEFAULT_STORE_SETTINGS.leaveOnDiskRows,
  };
}

export interface StoreOptions {
  readonly clock?: () => number;
  readonly settings?: Partial<StoreSettings>;
  readonly log?: AuditLog;
  /** Tells the operator (the notifier); never throws. */
  readonly notify?: (event: string, details: Record<string, unknown>) => void;
}

export interface StartupReport {
  readonly certificates: number;
  /** Of those, expired ones left on disk (cold-lines.ts). */
  readonly expiredOnDisk: number;
  readonly replayed: number;
  readonly tornBytes: number;
  /** Serials reserved but never recorded: withheld now. */
  readonly withheld: readonly string[];
  /** newcerts/ files of replayed records found missing or different from the journal's certificate, and written again. */
  readonly newcertsRewritten: readonly string[];
}

const NO_LOG: AuditLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
const MAINTENANCE_MS = 1000;
const FORGET_EVERY_MS = 10_000;
/** A failed automatic checkpoint is tried again after this, or after CHECKPOINT_INTERVAL when that is shorter. */
const CHECKPOINT_RETRY_MS = 10_000;
const ROTATION_RETRY_MS = 10_000;
/** A checkpoint waits this long at most for the derived files of the records before its position. */
const DRAIN_TIMEOUT_MS = 60_000;

/** The index.txt rewritten by a running checkpoint, and what has gone into it since its rows were generated. */
interface RewrittenIndex {
  readonly fd: number;
  readonly path: string;
  /** Rows from here on get their lines appended to it too, until it replaces index.txt. */
  readonly fromRow: number;
  bytes: number;
  failed: boolean;
  /**
   * The cold lines it starts with: the serials whose cold lines it left out, and the rows whose lines it wrote among
   * them (certificates expired in memory, which leave it once it is index.txt).
   */
  readonly cold: { readonly prefix: ColdPrefix; readonly excised: readonly SerialHex[]; readonly dropped: number; readonly leaving: readonly number[] } | null;
}

export class CaStore {
  readonly db: CaDatabase;
  readonly layout: CaLayout;
  startup: StartupReport = { certificates: 0, expiredOnDisk: 0, replayed: 0, tornBytes: 0, withheld: [], newcertsRewritten: [] };
  private readonly settings: StoreSettings;
  private readonly clock: () => number;
  private readonly log: AuditLog;
  private readonly notify: (event: string, details: Record<string, unknown>) => void;
  private readonly commits: GroupCommit;
  private readonly reserve: DiskReserve;
  private readonly newcerts: NewcertsFiles;
  /** close() was called: nothing more is written, flushed or recovered. */
  private closed = false;
  /** The index file being appended to: index.txt, or a rewrite its rename failed to make index.txt. */
  private index: { fd: number; bytes: number; path: string };
  /** The cold prefix the last checkpoint summarized (its summary is the one start-up reads), if any. */
  private coldPrefix: ColdPrefix | undefined;
  /** index.txt lacks lines or holds lines that changed since: the next checkpoint rewrites it. */
  private indexStale: boolean;
  private lineChanges = 0;
  private rewritten: RewrittenIndex | null = null;
  /** Issued or withheld serials whose records are appended but whose index line is not written yet. */
  private readonly unindexed = new Set<string>();
  /** Of those, the ones a checkpoint's rewrite has put into index.txt already. */
  private readonly indexedEarly = new Set<string>();
  /** Records that must be written (withholds, releases) and could not be yet: written when the disk lets us. */
  private readonly deferred: JournalRecord[] = [];
  /** Withheld by a failed flush (their batch was never answered), whose index lines come once the journal is rewritten. */
  private readonly recoveredWithheld: CertEntry[] = [];
  /** Set when the journal could not be brought back after a failure: issuance is stopped until it can. */
  private failed: StoreError | null = null;
  private generation: number;
  private lastCheckpoint: { at: number; bytes: number; records: number };
  private checkpointTail: Promise<void> = Promise.resolve();
  private checkpointBusy = false;
  private checkpointRetryAt = 0;
  private rotationScheduled = false;
  private rotationRetryAt = 0;
  private recoveryScheduled = false;
  private lastForget = 0;
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    layout: CaLayout,
    db: CaDatabase,
    private readonly journal: JournalWriter,
    indexFd: number,
    indexBytes: number,
    indexStale: boolean,
    checkpoint: Checkpoint,
    newcerts: NewcertsFiles,
    options: StoreOptions,
  ) {
    this.layout = layout;
    this.db = db;
    this.settings = { ...DEFAULT_STORE_SETTINGS, ...options.settings };
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? NO_LOG;
    this.notify = options.notify ?? (() => undefined);
    this.index = { fd: indexFd, bytes: indexBytes, path: layout.index };
    this.coldPrefix = checkpoint.cold;
    this.indexStale = indexStale;
    this.generation = checkpoint.generation;
    this.lastCheckpoint = { at: this.clock(), bytes: 0, records: 0 };
    this.newcerts = newcerts;
    this.commits = new GroupCommit(() => this.flush());
    this.reserve = new DiskReserve(layout.dir, () => (this.settings.reserveBytes > 0 ? this.settings.reserveBytes + this.index.bytes : 0));
  }

  /**
   * Opens the CA directory as the server starts: loads it, cuts a torn
   * journal tail, brings index.txt and the replayed records' newcerts/ files
   * up to the journal, withholds serials whose signature is uncertain, and
   * checkpoints when anything was replayed.
   */
  static async open(caDir: string, options: StoreOptions = {}): Promise<CaStore> {
    const layout = caLayout(caDir);
    for (const dir of [layout.dir, layout.newcerts, layout.journal, layout.crl]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!existsSync(layout.indexAttr)) writeFileAtomic(layout.indexAttr, 'unique_subject = no\n', { mode: 0o644 });
    const clock = options.clock ?? Date.now;
    const retention = options.settings?.outcomeRetentionMs ?? DEFAULT_STORE_SETTINGS.outcomeRetentionMs;
    let store: CaStore | undefined;
    const newcerts = new NewcertsFiles(layout.newcerts, (error, serial) => store?.writeFailed(error, `newcerts/${serial}.pem`));
    const newcertsRewritten: string[] = [];
    const loaded = loadCaDatabase(caDir, {
      coldBefore: clock(),
      outcomesSince: clock() - retention,
      onReplayed: (record) => {
        if (record.t === 'issue' && newcerts.ensure(record.serial, Buffer.from(record.der, 'base64'))) newcertsRewritten.push(record.serial);
        // Imported certificates (a one-time migration, from a journal that holds them) get their files once.
        if (record.t === 'import' && record.der !== undefined) newcerts.write(record.serial, Buffer.from(record.der, 'base64'), true);
      },
    });
    const journal = JournalWriter.open(layout.journal, loaded.end);
    // A checkpoint that rewrote the index and stopped before renaming it: the rename finishes now.
    if (loaded.indexFile !== layout.index) {
      renameSync(loaded.indexFile, layout.index);
      fsyncDirectory(layout.dir);
    }
    const indexFd = openSync(layout.index, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
    try {
      ftruncateSync(indexFd, loaded.checkpoint.indexBytes);
    } catch (e) {
      closeQuietly(indexFd);
      journal.close();
      throw e;
    }
    store = new CaStore(layout, loaded.db, journal, indexFd, loaded.checkpoint.indexBytes, loaded.indexStale, loaded.checkpoint, newcerts, options);
    if (loaded.cold === 'summary-unusable') {
      // Start-up read the whole index instead; the next checkpoint writes the summary again.
      store.coldPrefix = undefined;
      store.log.warn({ event: 'db.cold-summary-unusable', generation: loaded.checkpoint.cold?.generation }, 'the summary of the expired certificates in index.txt is missing or damaged: index.txt was read whole');
    }
    // The rows the journal added after the index: their lines, in row order (a cold certificate read back has its line written by the rewrite that excises the old one).
    for (let row = loaded.indexRows; row < store.db.size; row += INDEX_CHUNK_LINES) {
      store.appendIndexText(store.db.indexLines(row, Math.min(store.db.size, row + INDEX_CHUNK_LINES), (entry) => !store!.db.cold?.isExcised(entry.serial)));
    }

    const withheld: CertEntry[] = [];
    for (const { serial, req } of store.db.uncertain()) {
      // On a full disk the record waits (deferred) and the serial stays reserved: it is never issued again either way.
      const entry = store.appendOrDefer({ t: 'withhold', req, serial, why: 'signature outcome unknown after a restart', at: clock() });
      if (entry) withheld.push(entry);
    }
    if (withheld.length > 0) {
      // After a failed flush the store writes their lines itself, once the journal is rewritten (withholdFailedBatch).
      const durable = await store.commit().then(
        () => true,
        () => false,
      );
      if (durable) for (const entry of withheld) store.recordWithheld(entry);
    }
    if (loaded.replayed > 0 || withheld.length > 0 || loaded.end.tornBytes > 0 || store.indexStale || !existsSync(layout.checkpoint)) {
      await store.checkpoint().catch((e: Error) => store!.log.warn({ event: 'db.checkpoint-failed', err: e.message }, `checkpoint at start-up failed: ${e.message}`));
    }
    store.lastCheckpoint = { ...store.lastCheckpoint, at: clock() };
    store.startup = {
      certificates: store.db.total,
      expiredOnDisk: store.db.cold?.lines ?? 0,
      replayed: loaded.replayed,
      tornBytes: loaded.end.tornBytes,
      withheld: withheld.map((e) => e.serial),
      newcertsRewritten,
    };
    return store;
  }

  /** Starts the maintenance timer: disk reserve, flushes, automatic checkpoints, forgetting outcomes, recovery. */
  start(): void {
    this.checkDisk();
    this.timer = setInterval(() => this.maintain(), MAINTENANCE_MS);
    this.timer.unref();
  }

  /** Why new certificate requests must be refused now (exit 75), or null when they may be taken. */
  refusal(): StoreError | null {
    if (this.failed) return this.failed;
    if (this.reserve.low) return new StoreError('disk-full', `free space in ${this.layout.dir} below the reserve (CA_DISK_RESERVE_MB)`);
    if (this.db.outcomeCount >= this.settings.maxOutcomes) return new StoreError('busy', `${this.db.outcomeCount} request outcomes held, the most kept`);
    return null;
  }

  /** Appends a record (not yet durable) and applies it to the database. Throws a StoreError when it could not be written. */
  append(record: JournalRecord): CertEntry | undefined {
    if (this.failed) throw this.failed;
    if (this.closed) throw new StoreError('unavailable', 'the CA database is closed');
    // A revocation of an expired certificate left on disk reads it back first, as replaying the record would.
    if (record.t === 'revoke') this.certificate(record.serial);
    const serial = record.t === 'revoke' || record.t === 'withhold' ? record.serial : undefined;
    const existed = serial !== undefined && this.db.rowOf(serial) >= 0;
    try {
      this.journal.append(record);
    } catch (e) {
      const error = storeError(e, 'journal');
      this.writeFailed(error, `journal/${segmentName(this.journal.segment)}`);
      // The torn record could not even be cut off: nothing more is appended until the journal is rewritten (never during a flush).
      if (!this.journal.usable) this.scheduleRecovery();
      throw error;
    }
    if (record.t === 'issue' || (record.t === 'withhold' && !existed)) this.unindexed.add(record.serial);
    const entry = this.db.apply(record);
    // A line index.txt holds changed (a revocation), or a row came without one (an import): the index is rewritten.
    if ((entry && existed) || record.t === 'import') this.lineChanged();
    if (this.journal.end >= this.settings.segmentBytes) this.scheduleRotation();
    return entry;
  }

  /** append(), and when the record cannot be written now, written later (before the next checkpoint): for records that must not be lost. */
  appendOrDefer(record: JournalRecord): CertEntry | undefined {
    try {
      return this.append(record);
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      this.deferred.push(record);
      return undefined;
    }
  }

  /**
   * A withhold that must be recorded: now, or as soon as the journal takes it
   * (appendOrDefer); its index line follows once it is durable. Resolves once
   * that is settled either way; never rejects.
   */
  async withhold(record: Extract<JournalRecord, { t: 'withhold' }>): Promise<void> {
    const entry = this.appendOrDefer(record);
    // A failed flush writes the line itself once the journal is rewritten (withholdFailedBatch).
    if (entry && (await this.commit().then(() => true, () => false))) this.recordWithheld(entry);
  }

  /** append() for a record that only informs (an answer was published): a failure is logged by the store, never thrown. */
  note(record: JournalRecord): void {
    try {
      this.append(record);
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
    }
  }

  /** Resolves when every record appended so far is on disk; rejects with a StoreError when it could not be made so. */
  commit(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return this.commits.commit();
  }

  /** After an issue record is durable: the derived files (not flushed: see the header). Never throws. */
  recordIssued(entry: CertEntry, der: Buffer): void {
    this.writeIndexLine(entry);
    this.newcerts.write(entry.serial, der);
  }

  /** A withheld serial gets its R line at once (a new line: no rewrite). Never throws. */
  private recordWithheld(entry: CertEntry): void {
    this.writeIndexLine(entry);
  }

  /** The certificate of an earlier issuance, as newcerts/ holds it. Throws when the file cannot be read. */
  issuedPem(serial: string): string {
    return this.newcerts.pem(serial);
  }

  /**
   * A clean stop: a last checkpoint when anything came after the one before, so that the next start reads
   * index.txt and replays nothing; then close(). Never throws: the journal holds every record either way, and a
   * stop cut short (a full disk, SIGKILL) only leaves more to replay. Skipped while a certificate is between its
   * record and its index line (its request outlived the stop's wait): the checkpoint would wait for it.
   */
  async stop(): Promise<void> {
    const { records, repairs } = this.sinceCheckpoint();
    if ((records > 0 || repairs) && !this.failed && !this.closed && this.unindexed.size === 0) {
      await this.checkpoint().catch((e: Error) => this.log.warn({ event: 'db.checkpoint-failed', err: e.message }, `checkpoint at stop failed: ${e.message}`));
    }
    this.close();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      this.journal.close();
    } finally {
      for (const fd of [this.index.fd, this.rewritten?.fd ?? -1]) if (fd >= 0) closeQuietly(fd);
      this.index.fd = -1;
      this.rewritten = null;
    }
  }

  // ---- journal flushes and failures

  private async flush(): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new StoreError('unavailable', 'the CA database is closed');
    const segment = this.journal.segment;
    const upTo = this.journal.end;
    try {
      await this.journal.flush();
    } catch (e) {
      const error = storeError(e, 'journal flush');
      this.log.error({ event: 'db.flush-failed', segment, err: error.message }, `journal flush failed: ${error.message}; rewriting it from what is on disk`);
      this.withholdFailedBatch(segment, upTo);
      this.recover(error);
      throw error;
    }
  }

  /**
   * The batch whose flush failed was never answered: its certificates are
   * withheld (their issue records become withhold records when the journal is
   * written again), a SCEP workflow that was to end with one of them is
   * pending again, and its withholds get their index lines after that.
   */
  private withholdFailedBatch(segment: number, upTo: number): void {
    if (segment !== this.journal.segment) return;
    const withheld = new Set<string>();
    this.journal.pending.forEach((pending, i) => {
      if (pending.end > upTo) return;
      const r = pending.record;
      if (r.t === 'issue') {
        const withhold: JournalRecord = { t: 'withhold', req: r.req, serial: r.serial, why: 'the journal flush failed before the answer', at: this.clock() };
        this.replaceFailed(i, withhold);
        withheld.add(r.serial);
      } else if (r.t === 'withhold') {
        const entry = this.db.get(r.serial);
        if (entry) this.recoveredWithheld.push(entry);
      } else if (r.t === 'scep' && r.step === 'finish' && r.serial !== undefined && withheld.has(r.serial)) {
        const reopened = this.db.scep.reopened(r.txid, this.clock());
        if (reopened) this.replaceFailed(i, reopened);
      }
    });
  }

  /** A record of a failed batch replaced before the journal is written again, and applied to the database. */
  private replaceFailed(index: number, record: JournalRecord): void {
    this.journal.replacePending(index, record);
    const entry = this.db.apply(record);
    if (record.t === 'withhold' && entry) this.recoveredWithheld.push(entry);
  }

  /** Rewrites the journal from what is on disk (journal-writer.ts); on failure, stops issuance with an alert and tries again later. */
  private recover(cause: StoreError): void {
    if (this.closed) return;
    try {
      this.journal.rewrite();
    } catch (e) {
      const error = storeError(e, 'journal');
      if (!this.failed) {
        const message = `The CA journal cannot be written (${error.message}, after ${cause.message}): etoken-ca-server refuses certificate requests until it can. Check the disk of ${this.layout.dir}.`;
        this.log.error({ event: 'db.unavailable', err: error.message, cause: cause.message }, message);
        this.notify('alert.ca-database', { message, error: error.message });
      }
      this.failed = new StoreError('unavailable', `issuance stopped: ${error.message}`, error.code);
      return;
    }
    const wasFailed = this.failed !== null;
    this.failed = null;
    for (const entry of this.recoveredWithheld.splice(0)) this.writeIndexLine(entry);
    this.log.warn(
      { event: 'db.recovered', segment: this.journal.segment, bytes: this.journal.end, cause: cause.message },
      `journal rewritten from what is on disk and flushed${wasFailed ? ': issuance resumes' : ''}`,
    );
  }

  private scheduleRecovery(): void {
    if (this.recoveryScheduled) return;
    this.recoveryScheduled = true;
    void this.commits.whenIdle(() => {
      this.recoveryScheduled = false;
      if (this.failed || !this.journal.usable) this.recover(this.failed ?? new StoreError('write-failed', 'a torn journal record could not be cut off'));
    });
  }

  private scheduleRotation(): void {
    if (this.rotationScheduled || this.clock() < this.rotationRetryAt) return;
    this.rotationScheduled = true;
    void this.commits.whenIdle(() => {
      this.rotationScheduled = false;
      if (this.failed || this.journal.end < this.settings.segmentBytes) return;
      const from = this.journal.segment;
      try {
        this.journal.rotate();
      } catch (e) {
        const error = storeError(e, 'journal rotation');
        this.writeFailed(error, `journal/${segmentName(from)}`);
        this.rotationRetryAt = this.clock() + ROTATION_RETRY_MS;
        // The flush before the switch failed: written again like after any failed flush (nobody waited on it yet).
        if (this.journal.segment === from && error.message.includes('fdatasync')) this.recover(error);
        return;
      }
      this.log.info({ event: 'db.rotated', segment: this.journal.segment }, `journal continues in segment ${this.journal.segment}`);
    });
  }

  /** A write of the CA directory failed: logged, and a full disk noticed at once. */
  private writeFailed(error: StoreError, file: string): void {
    this.log.warn({ event: 'db.write-failed', file, code: error.code, err: error.message }, `cannot write ${file}: ${error.message}`);
    if (error.problem === 'disk-full' || isDiskFull(error)) {
      const change = this.reserve.markFull();
      if (change) this.reserveChanged(change);
    }
  }

  /**
   * A certificate by serial, a cold one (expired, left on disk at start-up) read back from index.txt: what
   * revoking it needs. Reading back reads the whole index, and is only for an operator's rare action.
   */
  certificate(serial: SerialHex): CertEntry | undefined {
    const inMemory = this.db.get(serial);
    if (inMemory || !this.db.mayBeCold(serial)) return inMemory;
    const line = indexLineOf(this.index.path, this.index.bytes, serial);
    const entry = line ? this.db.rehydrate(line) : undefined;
    if (entry) {
      // Its cold line is left out, and its line written, by the next rewrite.
      this.lineChanged();
      this.log.info({ event: 'db.cold-read', serial }, `expired certificate ${serial} read back from index.txt`);
    }
    return entry;
  }

  // ---- index.txt

  private lineChanged(): void {
    this.lineChanges++;
    this.indexStale = true;
  }

  /** Appends an entry's index line unless a checkpoint's rewrite holds it already. */
  private writeIndexLine(entry: CertEntry): void {
    this.unindexed.delete(entry.serial);
    if (this.indexedEarly.delete(entry.serial)) return;
    const line = Buffer.from(formatIndexLine(entry));
    this.appendIndexBytes(line);
    const rewritten = this.rewritten;
    if (rewritten && !rewritten.failed && this.db.rowOf(entry.serial) >= rewritten.fromRow) {
      try {
        writeAll(rewritten.fd, line);
        rewritten.bytes += line.length;
      } catch {
        rewritten.failed = true;
      }
    }
  }

  private appendIndexText(text: string): void {
    if (text !== '') this.appendIndexBytes(Buffer.from(text));
  }

  /** A failed append is cut off; when even that fails the index is closed. Either way the next checkpoint rewrites it. */
  private appendIndexBytes(bytes: Buffer): void {
    if (this.index.fd < 0) {
      this.indexStale = true;
      return;
    }
    try {
      writeAll(this.index.fd, bytes);
      this.index.bytes += bytes.length;
    } catch (e) {
      this.indexStale = true;
      try {
        ftruncateSync(this.index.fd, this.index.bytes);
      } catch {
        const fd = this.index.fd;
        this.index.fd = -1;
        closeQuietly(fd);
      }
      this.writeFailed(storeError(e, 'index.txt'), 'index.txt');
    }
  }

  // ---- checkpoints

  /**
   * Runs a checkpoint after any running one (the CRL path waits for it to
   * have index.txt show its revocations). Rejects when it could not be
   * made; the database stays as it was, and the next one tries again.
   */
  checkpoint(): Promise<void> {
    const run = this.checkpointTail.catch(() => undefined).then(() => this.runCheckpoint());
    this.checkpointTail = run;
    return run;
  }

  private async runCheckpoint(): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new StoreError('unavailable', 'the CA database is closed');
    this.checkpointBusy = true;
    const started = this.clock();
    const position = { segment: this.journal.segment, offset: this.journal.end };
    let newcertsToFlush: string[] = [];
    try {
      // Serials being signed now were reserved before the position: the journal after it must know them, or
      // after a restart their issue or withhold record would find no reservation and be dropped.
      for (const record of this.db.reservationRecords(started)) this.append(record);
      // Live SCEP workflows and unused challenges, likewise: their records before the position are not replayed.
      for (const record of this.db.scep.carryOver(started)) this.append(record);
      const counters = { bytes: this.journal.appendedBytes, records: this.journal.appendedRecords };
      const crl = this.db.crlState;
      const changesAtStart = this.lineChanges;
      // The records before the position have their index lines and newcerts/ files written first.
      await this.drained([...this.unindexed]);
      this.newcerts.catchUp();
      newcertsToFlush = this.newcerts.takeWritten();
      const generation = this.generation + 1;
      const leaving = this.rowsLeavingMemory(started);
      const rewriting = this.indexStale || this.index.fd < 0 || this.db.cold?.needsRewrite === true || leaving.length > 0;
      let indexBytes: number;
      let cold = this.coldPrefix;
      if (rewriting) {
        indexBytes = await this.rewriteIndex(generation, leaving);
        const prefix = this.rewritten?.cold?.prefix;
        cold = prefix && prefix.bytes > 0 ? prefix : undefined;
      } else {
        indexBytes = this.index.bytes;
        await fdatasyncAsync(this.index.fd);
        cold = (await this.summarizeColdPrefix(generation)) ?? cold;
      }
      await this.newcerts.flush(newcertsToFlush);
      await this.commit();
      if (this.rewritten?.failed) throw new StoreError('write-failed', 'index.txt: a line could not be added to its rewrite');
      const checkpoint: Checkpoint = {
        generation,
        segment: position.segment,
        offset: position.offset,
        indexBytes,
        crl,
        outcomes: this.db.recentOutcomes(this.clock() - this.settings.outcomeRetentionMs),
        ...(cold && { cold }),
      };
      await writeFileAtomicAsync(this.layout.checkpoint, Buffer.from(`${JSON.stringify(checkpoint)}\n`), 0o600);
      await fsyncPath(this.layout.dir, true);
      // Committed.
      this.generation = generation;
      this.lastCheckpoint = { at: started, ...counters };
      if (rewriting) this.switchIndex(changesAtStart);
      this.coldPrefix = cold;
      removeOtherSummaries(this.layout.dir, this.coldPrefix?.generation ?? null);
      this.writeOpensslFiles(crl.lastNumber);
      this.db.forgetOutcomes(this.clock() - this.settings.outcomeRetentionMs);
      this.log.info(
        { event: 'db.checkpoint', generation, segment: position.segment, offset: position.offset, indexBytes, rewritten: rewriting, newcerts: newcertsToFlush.length, ms: this.clock() - started },
        `checkpoint ${generation}: index.txt reflects the journal up to segment ${position.segment} byte ${position.offset}`,
      );
    } catch (e) {
      this.abandonRewrite();
      removeOtherSummaries(this.layout.dir, this.coldPrefix?.generation ?? null);
      this.newcerts.putBack(newcertsToFlush);
      throw storeError(e, 'checkpoint');
    } finally {
      this.checkpointBusy = false;
    }
  }

  /** Expired certificates in memory that this checkpoint leaves on disk: none until there are leaveOnDiskRows of them. */
  private rowsLeavingMemory(now: number): number[] {
    if (!this.db.cold) return [];
    const rows = this.db.expiredValidRows(now, this.settings.leaveOnDiskRows);
    // A certificate read back for a revocation (its cold line not yet left out) or still without its index line stays.
    return rows.filter((row) => {
      const serial = this.db.serialAt(row);
      return !this.db.cold!.isExcised(serial) && !this.unindexed.has(serial);
    });
  }

  /**
   * When the cold lines are one prefix of the index other than the one summarized (start-up found more of them
   * where the last ones ended), a summary of it for this checkpoint, without rewriting the index.
   */
  private async summarizeColdPrefix(generation: number): Promise<ColdPrefix | undefined> {
    const cold = this.db.cold;
    const bytes = cold?.prefixBytes;
    if (!cold || !bytes || bytes === (this.coldPrefix?.bytes ?? 0)) return undefined;
    await writeColdSummary(this.layout.dir, generation, { bytes, lines: cold.lines, filter: cold.filter });
    await fsyncPath(this.layout.dir, true);
    return { generation, bytes, lines: cold.lines };
  }

  /** Waits until these serials have their index lines (their requests are between flush and answer). */
  private async drained(serials: readonly string[]): Promise<void> {
    const deadline = this.clock() + DRAIN_TIMEOUT_MS;
    while (serials.some((s) => this.unindexed.has(s))) {
      if (this.failed) throw this.failed;
      if (this.clock() > deadline) throw new StoreError('write-failed', 'records before the checkpoint still have no index line');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * Writes the whole index into index.txt.<generation>.new from memory, in
   * pieces, letting requests run between them; rows added meanwhile are
   * written too. Once every row is in, lines appended to index.txt are
   * appended to it as well, until it replaces index.txt. Returns its bytes.
   */
  private async rewriteIndex(generation: number, leaving: readonly number[]): Promise<number> {
    const path = join(this.layout.dir, rewrittenIndexName(generation));
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND, 0o644);
    let bytes = 0;
    let cold: RewrittenIndex['cold'] = null;
    try {
      // The cold lines first, and the lines of the certificates leaving memory after them: one prefix that the
      // summary lets start-up skip.
      const coldLines = this.db.cold;
      if (coldLines && (coldLines.lines > 0 || leaving.length > 0)) {
        const { ranges, excised } = coldLines.snapshot();
        const copied = await copyColdLines(this.index.path, ranges, excised, fd);
        let joinedBytes = 0;
        for (let at = 0; at < leaving.length; at += INDEX_CHUNK_LINES) {
          const piece = Buffer.from(this.db.indexLinesOf(leaving.slice(at, at + INDEX_CHUNK_LINES)));
          await writeAllAsync(fd, piece);
          joinedBytes += piece.length;
        }
        for (const row of leaving) coldLines.addSerial(this.db.serialAt(row));
        bytes += copied.bytes + joinedBytes;
        const prefix = { generation, bytes: copied.bytes + joinedBytes, lines: coldLines.lines - copied.dropped + leaving.length };
        if (prefix.bytes > 0) await writeColdSummary(this.layout.dir, generation, { bytes: prefix.bytes, lines: prefix.lines, filter: coldLines.filter });
        cold = { prefix, excised, dropped: copied.dropped, leaving };
      }
      const left = new Set(leaving);
      let row = 0;
      while (row < this.db.size) {
        const to = Math.min(this.db.size, row + INDEX_CHUNK_LINES);
        const keep = (entry: CertEntry, at: number): boolean => !left.has(at) && (!this.db.cold?.isExcised(entry.serial) || cold?.excised.includes(entry.serial) === true);
        const piece = Buffer.from(this.db.indexLines(row, to, keep));
        await writeAllAsync(fd, piece);
        bytes += piece.length;
        row = to;
      }
      this.rewritten = { fd, path, fromRow: row, bytes, failed: false, cold };
      await fdatasyncAsync(fd);
      // Its name is durable before the checkpoint names it.
      await fsyncPath(this.layout.dir, true);
    } catch (e) {
      if (this.rewritten?.fd !== fd) closeQuietly(fd);
      this.abandonRewrite();
      unlinkQuietly(path);
      throw e;
    }
    return bytes;
  }

  private abandonRewrite(): void {
    const rewritten = this.rewritten;
    if (!rewritten) return;
    this.rewritten = null;
    closeQuietly(rewritten.fd);
    unlinkQuietly(rewritten.path);
  }

  /**
   * The rewrite's cold lines are the index's now. Its certificates leaving memory leave, renumbering the rows;
   * one revoked meanwhile stays, and its line among the cold ones is left out by the next rewrite.
   */
  private leaveMemory(cold: NonNullable<RewrittenIndex['cold']>): void {
    const coldLines = this.db.cold!;
    coldLines.rewritten(cold.excised, cold.prefix.bytes, cold.dropped, cold.leaving.length);
    const leaving: number[] = [];
    for (const row of cold.leaving) {
      const serial = this.db.serialAt(row);
      if (this.db.get(serial)?.status === 'R') coldLines.excise(serial);
      else leaving.push(row);
    }
    this.db.leaveOnDisk(leaving);
    if (leaving.length > 0) this.log.info({ event: 'db.left-on-disk', certificates: leaving.length, inMemory: this.db.size }, `${leaving.length} expired certificates left memory`);
  }

  /** After the checkpoint that names it: the rewritten index becomes index.txt. */
  private switchIndex(changesAtStart: number): void {
    const rewritten = this.rewritten!;
    this.rewritten = null;
    for (const serial of this.unindexed) if (this.db.rowOf(serial) < rewritten.fromRow) this.indexedEarly.add(serial);
    if (rewritten.cold) this.leaveMemory(rewritten.cold);
    const old = this.index.fd;
    this.index = { fd: rewritten.fd, bytes: rewritten.bytes, path: this.layout.index };
    if (old >= 0) closeQuietly(old);
    // Lines that changed after their rows were generated are not in it: rewritten again next time.
    this.indexStale = this.lineChanges !== changesAtStart;
    try {
      renameSync(rewritten.path, this.layout.index);
    } catch (e) {
      // The checkpoint names the new file, and readers take it while it exists: only the next checkpoint must rewrite.
      this.index.path = rewritten.path;
      this.indexStale = true;
      this.writeFailed(storeError(e, 'index.txt: rename'), 'index.txt');
      return;
    }
    try {
      fsyncDirectory(this.layout.dir);
    } catch (e) {
      this.writeFailed(storeError(e, `${this.layout.dir}: fsync`), this.layout.dir);
    }
  }

  /** crlnumber and serial, for an operator who runs openssl ca by hand; not part of the record. */
  private writeOpensslFiles(lastCrlNumber: number): void {
    try {
      writeFileAtomic(this.layout.crlNumber, `${(lastCrlNumber + 1).toString(16).toUpperCase().padStart(2, '0')}\n`, { mode: 0o644 });
      // openssl ca's next serial: one no certificate here has.
      writeFileAtomic(this.layout.serial, `${this.db.unusedSerial()}\n`, { mode: 0o644 });
    } catch (e) {
      this.writeFailed(storeError(e, 'crlnumber/serial'), 'crlnumber');
    }
  }

  // ---- maintenance

  private maintain(): void {
    const now = this.clock();
    this.checkDisk();
    if (this.failed || !this.journal.usable) {
      this.scheduleRecovery();
      return;
    }
    this.appendDeferred();
    if (this.journal.pending.length > 0 && !this.commits.busy) void this.commit().catch(() => undefined);
    if (now - this.lastForget >= FORGET_EVERY_MS || this.db.outcomeCount >= this.settings.maxOutcomes) {
      this.lastForget = now;
      this.db.forgetOutcomes(now - this.settings.outcomeRetentionMs);
    }
    if (this.checkpointDue(now)) this.backgroundCheckpoint();
  }

  /** index.txt or newcerts/ wait for a checkpoint to repair them. */
  private get repairsPending(): boolean {
    return this.indexStale || this.newcerts.behindCount > 0 || this.coldUnsummarized;
  }

  /** Cold lines that the next start-up would read: a checkpoint summarizes them (and rewrites the index if they are scattered). */
  private get coldUnsummarized(): boolean {
    const cold = this.db.cold;
    return cold !== null && (cold.needsRewrite || cold.prefixBytes !== (this.coldPrefix?.bytes ?? 0));
  }

  /** Journal bytes and records since the last checkpoint, and whether repairs wait for one. */
  private sinceCheckpoint(): { bytes: number; records: number; repairs: boolean } {
    return {
      bytes: this.journal.appendedBytes - this.lastCheckpoint.bytes,
      records: this.journal.appendedRecords - this.lastCheckpoint.records,
      repairs: this.repairsPending,
    };
  }

  private checkpointDue(now: number): boolean {
    if (this.checkpointBusy || now < this.checkpointRetryAt) return false;
    const { bytes, records, repairs } = this.sinceCheckpoint();
    if (bytes >= this.settings.checkpointBytes || records >= this.settings.checkpointRecords) return true;
    return (records > 0 || repairs) && now - this.lastCheckpoint.at >= this.settings.checkpointIntervalMs;
  }

  private backgroundCheckpoint(): void {
    this.checkpointBusy = true;
    this.checkpoint().catch((e: Error) => {
      const retryMs = Math.min(CHECKPOINT_RETRY_MS, this.settings.checkpointIntervalMs);
      this.checkpointRetryAt = this.clock() + retryMs;
      this.log.warn({ event: 'db.checkpoint-failed', err: e.message }, `checkpoint failed, tried again in ${retryMs / 1000} s: ${e.message}`);
    });
  }

  private appendDeferred(): void {
    while (this.deferred.length > 0) {
      const record = this.deferred[0]!;
      let entry: CertEntry | undefined;
      try {
        entry = this.append(record);
      } catch {
        return;
      }
      this.deferred.shift();
      if (record.t === 'withhold' && entry) void this.commit().then(() => this.recordWithheld(entry), () => undefined);
    }
  }

  private checkDisk(): void {
    const change = this.reserve.check();
    if (change) this.reserveChanged(change);
  }

  private reserveChanged(change: ReserveChange): void {
    const space = describeSpace(change.space);
    if (change.low) {
      const message = `The filesystem of ${this.layout.dir} has ${space} free, less than the reserve of ${Math.round(change.neededBytes / MB)} MB (CA_DISK_RESERVE_MB and room to rewrite index.txt): new certificate requests are refused (exit 75, "CA disk full") until space is freed; revocations and CRLs go on.`;
      this.log.warn({ event: 'db.disk-low', freeBytes: change.space.freeBytes, freeInodes: change.space.freeInodes, reserveBytes: change.neededBytes }, message);
      this.notify('alert.ca-disk-reserve', { message, freeBytes: change.space.freeBytes, reserveBytes: change.neededBytes });
      return;
    }
    this.log.info({ event: 'db.disk-ok', freeBytes: change.space.freeBytes, reserveBytes: change.neededBytes }, `the filesystem of ${this.layout.dir} has ${space} free again: certificate requests are taken again`);
    this.appendDeferred();
    // What could not be written while the disk was full (index lines, newcerts/ files) is written now.
    if (this.repairsPending && !this.checkpointBusy && !this.failed) this.backgroundCheckpoint();
  }
}

function describeSpace(space: DiskSpace): string {
  return Number.isFinite(space.freeBytes) ? `${(space.freeBytes / MB).toFixed(1)} MB and ${space.freeInodes} inodes` : 'an unknown amount';
}
