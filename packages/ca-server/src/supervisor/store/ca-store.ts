/**
 * The server's side of the CA database: the only writer. Appends journal
 * records (plain writes: they survive a process crash), makes them durable
 * with one fdatasync per batch (GroupCommit), and keeps the derived files
 * (index.txt, newcerts/, serial, crlnumber) in step without flushing them:
 * they are rebuilt from the journal at start-up when behind.
 */
import {
  closeSync,
  constants,
  existsSync,
  fdatasync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CaDatabase, type CertEntry } from '@etoken-ca/contract/core/cadb/database';
import { formatIndexLine } from '@etoken-ca/contract/core/cadb/index-line';
import { encodeRecord, type JournalRecord } from '@etoken-ca/contract/core/cadb/journal';
import { caLayout, segmentName, type CaLayout, type Checkpoint } from '@etoken-ca/contract/core/cadb/layout';
import { loadCaDatabase } from '@etoken-ca/contract/io/cadb/load';
import { issuedCertificate, type RecordedCertificate } from '@etoken-ca/contract/io/cadb/recent-records';
import { pemBytes } from '@etoken-ca/x509/pem';
import { GroupCommit } from './group-commit.js';

const fdatasyncAsync = promisify(fdatasync);

/** Rotate the journal and rewrite index.txt once a segment holds this much. */
const SEGMENT_LIMIT = 64 * 1024 * 1024;

/**
 * How long a finished request's outcome is kept, across checkpoints and
 * restarts, to answer its client again instead of signing twice: far longer
 * than any client waits (CLIENT_TIMEOUT is at most 110 s).
 */
export const OUTCOME_RETENTION_MS = 15 * 60_000;

/**
 * newcerts/ files are written without a flush; the kernel writes them back
 * within about 35 s (dirty_expire 30 s, writeback every 5 s). Start-up checks
 * the files of the certificates recorded this long before the checkpoint,
 * whose records a checkpoint may have put out of replay before the machine
 * lost power.
 */
const NEWCERTS_CHECK_WINDOW_MS = 10 * 60_000;

export function derToPem(der: Buffer, label = 'CERTIFICATE'): string {
  return pemBytes(der, label).toString('latin1');
}

/**
 * Writes a file atomically in a root-only directory: temp, fsync, rename.
 * Large contents come as pieces, never as one string. Returns the bytes written.
 */
export function writeFileAtomic(path: string, data: string | Buffer | Iterable<string>, mode = 0o644): number {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  let bytes = 0;
  try {
    const pieces = typeof data === 'string' || Buffer.isBuffer(data) ? [data] : data;
    for (const piece of pieces) {
      const buffer = typeof piece === 'string' ? Buffer.from(piece) : piece;
      for (let offset = 0; offset < buffer.length; ) offset += writeSync(fd, buffer, offset);
      bytes += buffer.length;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return bytes;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface StartupReport {
  readonly certificates: number;
  readonly replayed: number;
  readonly tornBytes: number;
  /** Serials reserved but never recorded: withheld now. */
  readonly withheld: readonly string[];
  /** newcerts/ files found missing or different from the journal's certificate, and written again. */
  readonly newcertsRewritten: readonly string[];
}

export class CaStore {
  readonly db: CaDatabase;
  readonly layout: CaLayout;
  private journalFd: number;
  private segment: number;
  private segmentBytes: number;
  private indexFd: number;
  private indexBytes: number;
  private readonly commits: GroupCommit;
  /** Issued or withheld serials whose records are appended but whose index line is not written yet. */
  private readonly unindexed = new Set<string>();
  /** Of those, the ones a checkpoint has already put into index.txt. */
  private readonly indexedEarly = new Set<string>();
  readonly startup: StartupReport;

  constructor(caDir: string, private readonly clock: () => number = Date.now) {
    this.layout = caLayout(caDir);
    for (const dir of [this.layout.dir, this.layout.newcerts, this.layout.journal, this.layout.crl]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    if (!existsSync(this.layout.indexAttr)) writeFileAtomic(this.layout.indexAttr, 'unique_subject = no\n');

    const loaded = loadCaDatabase(caDir, { outcomesSince: this.clock() - OUTCOME_RETENTION_MS, certificatesWithin: NEWCERTS_CHECK_WINDOW_MS });
    this.db = loaded.db;
    this.segment = loaded.end.segment;
    this.journalFd = openSync(join(this.layout.journal, segmentName(this.segment)), constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o600);
    if (loaded.end.tornBytes > 0) ftruncateSync(this.journalFd, loaded.end.offset);
    this.segmentBytes = loaded.end.offset;
    this.indexFd = -1;
    this.indexBytes = loaded.checkpoint.indexBytes;
    this.commits = new GroupCommit(() => fdatasyncAsync(this.journalFd));

    const withheld: string[] = [];
    for (const { serial, req } of this.db.uncertain()) {
      this.append({ t: 'withhold', req, serial, why: 'signature outcome unknown after a restart', at: this.clock() });
      withheld.push(serial);
    }
    if (withheld.length > 0) fsyncSync(this.journalFd);
    // Derived files are behind the journal whenever anything was replayed: rebuild them once.
    this.checkpoint(loaded.replayed.length > 0 || withheld.length > 0 || !existsSync(this.layout.index));
    this.unindexed.clear();
    this.indexedEarly.clear();
    // Both lists are before the checkpoint just made: their files must be whole and on disk now.
    const replayedCertificates = loaded.replayed.map(issuedCertificate).filter((c): c is RecordedCertificate => c !== null);
    const newcertsRewritten = [...loaded.recentCertificates, ...replayedCertificates].filter((c) => this.ensureNewcert(c));
    if (newcertsRewritten.length > 0) fsyncDir(this.layout.newcerts);
    // Imported certificates (a one-time migration, from a journal that holds them) get their files once, unflushed.
    for (const r of loaded.replayed) if (r.t === 'import' && r.der !== undefined) this.writeNewcert(r.serial, Buffer.from(r.der, 'base64'), true);
    this.startup = {
      certificates: this.db.size,
      replayed: loaded.replayed.length,
      tornBytes: loaded.end.tornBytes,
      withheld,
      newcertsRewritten: newcertsRewritten.map((c) => c.serial),
    };
  }

  /** Appends a record (not yet durable) and applies it to the in-memory database. */
  append(record: JournalRecord): CertEntry | undefined {
    const line = Buffer.from(encodeRecord(record));
    writeSync(this.journalFd, line);
    this.segmentBytes += line.length;
    if (record.t === 'issue' || record.t === 'withhold') this.unindexed.add(record.serial);
    return this.db.apply(record);
  }

  /** Resolves when every record appended so far is on disk. */
  commit(): Promise<void> {
    return this.commits.commit();
  }

  /** After an issue record is durable: the derived files (not flushed: rebuilt from the journal if lost). */
  recordIssued(entry: CertEntry, der: Buffer): void {
    this.appendIndexLineOnce(entry);
    this.writeNewcert(entry.serial, der, false);
  }

  /** A withheld serial gets its R line at once (a new line: no rewrite). */
  recordWithheld(entry: CertEntry | undefined): void {
    if (entry) this.appendIndexLineOnce(entry);
  }

  /**
   * checkpoint() for a running server (the CRL path): waits until no journal
   * flush is in flight, so the segment is never swapped under one.
   */
  checkpointWhenIdle(): Promise<void> {
    return this.commits.whenIdle(() => this.checkpoint());
  }

  get needsRotation(): boolean {
    return this.segmentBytes > SEGMENT_LIMIT;
  }

  /**
   * Writes the derived files from memory and moves the checkpoint to the end
   * of the journal, starting a new segment. Whole-file rewrite: for start-up,
   * the CRL path and rotation, never per issuance.
   */
  checkpoint(rewriteIndex = true): void {
    fsyncSync(this.journalFd);
    if (!rewriteIndex && this.indexFd < 0) {
      // Start-up with nothing to replay: lines after the checkpoint are cut, the rest is current.
      this.indexFd = openSync(this.layout.index, constants.O_WRONLY | constants.O_APPEND);
      ftruncateSync(this.indexFd, this.indexBytes);
      fsyncSync(this.indexFd);
    } else if (rewriteIndex) {
      if (this.indexFd >= 0) closeSync(this.indexFd);
      const bytes = writeFileAtomic(this.layout.index, this.db.indexChunks());
      // Requests still between their journal record and recordIssued/recordWithheld are in this text already.
      for (const serial of this.unindexed) this.indexedEarly.add(serial);
      this.indexBytes = bytes;
      this.indexFd = openSync(this.layout.index, constants.O_WRONLY | constants.O_APPEND);
    } else {
      fsyncSync(this.indexFd);
    }
    const crl = this.db.crlState;
    writeFileAtomic(this.layout.crlNumber, `${(crl.lastNumber + 1).toString(16).toUpperCase().padStart(2, '0')}\n`);
    // openssl ca's next serial, for an operator who runs it by hand: one no certificate here has.
    writeFileAtomic(this.layout.serial, `${this.db.unusedSerial()}\n`);
    closeSync(this.journalFd);
    this.segment += 1;
    this.journalFd = openSync(join(this.layout.journal, segmentName(this.segment)), constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o600);
    this.segmentBytes = 0;
    // Serials being signed now were reserved before the checkpoint: the new segment must know them, or after a
    // restart their issue or withhold record (after the checkpoint) would find no reservation and be dropped.
    for (const record of this.db.reservationRecords(this.clock())) this.append(record);
    // Live SCEP workflows and unused challenges, likewise: their records before the checkpoint are not replayed.
    for (const record of this.db.scep.carryOver(this.clock())) this.append(record);
    fsyncDir(this.layout.journal);
    const checkpoint: Checkpoint = { segment: this.segment, offset: 0, indexBytes: this.indexBytes, crl };
    writeFileAtomic(this.layout.checkpoint, `${JSON.stringify(checkpoint)}\n`, 0o600);
    fsyncDir(this.layout.dir);
    this.db.forgetOutcomes(this.clock() - OUTCOME_RETENTION_MS);
  }

  close(): void {
    fsyncSync(this.journalFd);
    closeSync(this.journalFd);
    if (this.indexFd >= 0) closeSync(this.indexFd);
  }

  /** Appends an entry's index line unless a checkpoint has written the whole index with it already. */
  private appendIndexLineOnce(entry: CertEntry): void {
    this.unindexed.delete(entry.serial);
    if (this.indexedEarly.delete(entry.serial)) return;
    const line = Buffer.from(formatIndexLine(entry));
    writeSync(this.indexFd, line);
    this.indexBytes += line.length;
  }

  /** The certificate of an earlier issuance, as newcerts/ holds it (start-up rewrote any a crash left incomplete). Throws when the file cannot be read. */
  issuedPem(serial: string): string {
    return readFileSync(this.newcertPath(serial), 'latin1');
  }

  private newcertPath(serial: string): string {
    return join(this.layout.newcerts, `${serial}.pem`);
  }

  private writeNewcert(serial: string, der: Buffer, mayExist: boolean): void {
    try {
      writeFileSync(this.newcertPath(serial), derToPem(der), { flag: 'wx', mode: 0o644 });
    } catch (e) {
      if (!(mayExist && (e as NodeJS.ErrnoException).code === 'EEXIST')) throw e;
    }
  }

  /** Writes newcerts/<serial>.pem, flushed, unless it already holds exactly this certificate. Returns whether it wrote. */
  private ensureNewcert({ serial, der }: RecordedCertificate): boolean {
    const path = this.newcertPath(serial);
    const pem = pemBytes(Buffer.from(der, 'base64'), 'CERTIFICATE');
    let current: Buffer | null = null;
    try {
      current = readFileSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (current?.equals(pem)) return false;
    writeFileAtomic(path, pem);
    return true;
  }
}
