/**
 * The CA database held in memory: certificates by serial, request outcomes by
 * request id, CRL numbering. Built from index.txt (as of the last checkpoint)
 * and the journal records after it; every change goes through apply(), so the
 * server, the loader and revoke-cert derive the same state from the same
 * records. Pure: no I/O.
 */
import { randomSerial, type SerialHex } from '../serial.js';
import { CertTable, type CertRow, type RevokedRowVisitor } from './cert-table.js';
import type { ColdLines } from './cold-lines.js';
import { formatIndexLine, parseIndexLineBytes, type RevocationReason } from './index-line.js';
import type { JournalRecord } from './journal.js';
import { ScepBook } from '../scep/scep-book.js';
import type { CheckpointOutcome } from './layout.js';

export type CertEntry = CertRow;

/** Lines per chunk of indexChunks(): large writes, no string of the whole file. */
export const INDEX_CHUNK_LINES = 10_000;
const NEWLINE = 0x0a;

/**
 * How a request ended, and when (`at`: the time of its journal record). An
 * issued certificate is named by its serial only, its bytes being in
 * newcerts/: a busy server would otherwise hold every certificate of the
 * outcomes' retention in memory.
 */
export type Outcome =
  | { readonly kind: 'issued'; readonly serial: SerialHex; readonly at: number }
  | { readonly kind: 'refused'; readonly exit: number; readonly reason: string; readonly at: number }
  | { readonly kind: 'withheld'; readonly serial: SerialHex; readonly at: number };

type OutcomeRecord = Extract<JournalRecord, { t: 'issue' | 'refuse' | 'withhold' }>;

function outcomeOf(record: OutcomeRecord): Outcome {
  switch (record.t) {
    case 'issue':
      return { kind: 'issued', serial: record.serial, at: record.at };
    case 'refuse':
      return { kind: 'refused', exit: record.exit, reason: record.reason, at: record.at };
    case 'withhold':
      return { kind: 'withheld', serial: record.serial, at: record.at };
  }
}

interface Reservation {
  readonly req: string;
  readonly subject: string;
  readonly notAfter: number;
}

export interface CrlState {
  /** Highest CRL number ever reserved (0: none). */
  readonly lastNumber: number;
  /** thisUpdate of the last reserved CRL, ms. */
  readonly lastThisUpdate: number;
  readonly published: { readonly number: number; readonly thisUpdate: number; readonly nextUpdate: number } | null;
  /**
   * A certificate was revoked outside the queue (withheld, or superseded on
   * replacement) since the last CRL was started: the CRL is due. Kept in the
   * checkpoint, so a restart does not lose it.
   */
  readonly revokedSinceLastCrl?: boolean;
}

export class CaDatabase {
  private readonly certs = new CertTable();
  /** The SCEP workflows and challenges (the `scep` records). */
  readonly scep = new ScepBook();
  /** Serials by subject, built on the first activeFor() (only MAX_ACTIVE_CERTS needs it). */
  private bySubject: Map<string, SerialHex[]> | null = null;
  private readonly reservations = new Map<SerialHex, Reservation>();
  private readonly outcomes = new Map<string, Outcome>();
  private crl: CrlState = { lastNumber: 0, lastThisUpdate: 0, published: null };
  /** The expired certificates left on disk (the server's start-up); null when every row is in memory. */
  cold: ColdLines | null = null;

  /** Certificates in memory. */
  get size(): number {
    return this.certs.size;
  }

  /** Certificates in memory and on disk only. */
  get total(): number {
    return this.certs.size + (this.cold?.lines ?? 0);
  }

  get crlState(): CrlState {
    return this.crl;
  }

  /** Room for about this many certificates and index.txt bytes, so loading does not regrow. */
  reserve(certificates: number, indexBytes: number): void {
    this.certs.reserve(certificates, indexBytes);
  }

  /**
   * Loads the complete lines of a piece of index.txt (of a serial listed
   * twice, the later line counts). With `cold`, each line of a certificate
   * that was valid and expired before `expiredBefore` is left to it instead
   * (its serial in the filter, its place in the file: `at` is the file offset
   * of bytes[0]). Returns how many bytes it consumed (up to the last
   * newline; the caller passes the rest again with the next piece) and how
   * many lines were not well-formed.
   */
  loadIndex(bytes: Buffer, cold?: { readonly lines: ColdLines; readonly at: number; readonly expiredBefore: number }): { consumed: number; bad: number } {
    let bad = 0;
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE); end >= 0; end = bytes.indexOf(NEWLINE, start)) {
      if (end > start) {
        const raw = parseIndexLineBytes(bytes, start, end);
        if (!raw) bad++;
        else if (cold && raw.status !== 'R' && raw.notAfter < cold.expiredBefore) cold.lines.add(bytes, raw.serialStart, raw.serialEnd, cold.at + start, cold.at + end + 1);
        else this.certs.setRaw(bytes, raw);
      }
      start = end + 1;
    }
    return { consumed: start, bad };
  }

  /** A cold certificate's line (read back from the index) made a row again, its cold line to be excised. */
  rehydrate(line: Buffer): CertEntry | undefined {
    const newline = line.indexOf(NEWLINE);
    const raw = parseIndexLineBytes(line, 0, newline < 0 ? line.length : newline);
    if (!raw || !this.cold) return undefined;
    const serial = line.toString('latin1', raw.serialStart, raw.serialEnd);
    if (this.certs.has(serial)) return this.certs.get(serial);
    this.certs.setRaw(line, raw);
    this.cold.excise(serial);
    this.indexSubjectOf(serial);
    return this.certs.get(serial);
  }

  /** Rows valid when issued and expired before `before`, none when fewer than `atLeast`: what a rewrite of the index may leave on disk. */
  expiredValidRows(before: number, atLeast = 0): number[] {
    return this.certs.expiredValidRows(before, atLeast);
  }

  /**
   * These rows' certificates, expired and now among the cold lines (their lines in the index's cold prefix, their
   * serials in the filter), leave memory; the other rows are numbered again (rowEpoch).
   */
  leaveOnDisk(rows: readonly number[]): void {
    if (rows.length === 0) return;
    const leaving = new Set(rows);
    this.certs.compact((row) => !leaving.has(row));
    this.bySubject = null;
  }

  /** Counts leaveOnDisk()s: a row number is good while it stays the same. */
  get rowEpoch(): number {
    return this.certs.epoch;
  }

  /** Whether a serial missing from memory may be a cold certificate's. */
  mayBeCold(serial: SerialHex): boolean {
    return this.cold !== null && !this.certs.has(serial) && this.cold.mayHold(serial);
  }

  setCrlState(state: CrlState): void {
    this.crl = state;
  }

  /** True when the serial is in use or reserved, or may be a cold certificate's: never to be issued again. */
  hasSerial(serial: SerialHex): boolean {
    return this.certs.has(serial) || this.reservations.has(serial) || this.cold?.mayHold(serial) === true;
  }

  /** A random serial neither issued nor reserved. */
  unusedSerial(): SerialHex {
    for (;;) {
      const serial = randomSerial();
      if (!this.hasSerial(serial)) return serial;
    }
  }

  get(serial: SerialHex): CertEntry | undefined {
    return this.certs.get(serial);
  }

  entries(): IterableIterator<CertEntry> {
    return this.certs.values();
  }

  private setCert(entry: CertEntry): void {
    const added = !this.certs.has(entry.serial);
    this.certs.set(entry);
    if (added) this.indexSubject(entry);
  }

  private indexSubjectOf(serial: SerialHex): void {
    const entry = this.certs.get(serial);
    if (entry) this.indexSubject(entry);
  }

  private indexSubject(entry: CertEntry): void {
    if (!this.bySubject) return;
    const serials = this.bySubject.get(entry.subject);
    if (serials) serials.push(entry.serial);
    else this.bySubject.set(entry.subject, [entry.serial]);
  }

  outcome(req: string): Outcome | undefined {
    return this.outcomes.get(req);
  }

  /** A reserve record for each serial reserved now, as of `at`: a checkpoint carries them into the next segment. */
  reservationRecords(at: number): JournalRecord[] {
    return [...this.reservations].map(([serial, r]) => ({ t: 'reserve', req: r.req, serial, subject: r.subject, notAfter: r.notAfter, at }));
  }

  /** Serials reserved and never recorded as issued or withheld: maybe signed, so they must be withheld. */
  uncertain(): { serial: SerialHex; req: string }[] {
    return [...this.reservations].map(([serial, r]) => ({ serial, req: r.req }));
  }

  /** Valid, unexpired certificates of a subject (for MAX_ACTIVE_CERTS). */
  activeFor(subject: string, now: number): CertEntry[] {
    if (!this.bySubject) {
      this.bySubject = new Map();
      for (const e of this.certs.values()) this.indexSubject(e);
    }
    const found: CertEntry[] = [];
    for (const serial of this.bySubject.get(subject) ?? []) {
      const e = this.certs.get(serial);
      if (e && e.status === 'V' && e.notAfter > now) found.push(e);
    }
    return found;
  }

  /** Applies one journal record. Returns the entry whose index line changed, if any. */
  apply(record: JournalRecord): CertEntry | undefined {
    switch (record.t) {
      case 'reserve':
        this.reservations.set(record.serial, { req: record.req, subject: record.subject, notAfter: record.notAfter });
        return undefined;
      case 'issue': {
        const r = this.reservations.get(record.serial);
        if (!r) return undefined;
        this.reservations.delete(record.serial);
        const entry: CertEntry = { serial: record.serial, status: 'V', notAfter: r.notAfter, subject: r.subject };
        this.setCert(entry);
        this.outcomes.set(record.req, outcomeOf(record));
        return entry;
      }
      case 'withhold': {
        const r = this.reservations.get(record.serial);
        const old = this.certs.get(record.serial);
        const base = old ?? (r && { serial: record.serial, notAfter: r.notAfter, subject: r.subject });
        this.reservations.delete(record.serial);
        this.outcomes.set(record.req, outcomeOf(record));
        if (!base) return undefined;
        const entry: CertEntry = {
          ...base,
          status: 'R',
          revokedAt: record.at,
          reason: 'cessationOfOperation',
          withheld: true,
        };
        this.crl = { ...this.crl, revokedSinceLastCrl: true };
        this.setCert(entry);
        return entry;
      }
      case 'refuse':
        if (record.serial) this.reservations.delete(record.serial);
        this.outcomes.set(record.req, outcomeOf(record));
        return undefined;
      case 'answer':
        return undefined;
      case 'release':
        this.reservations.delete(record.serial);
        return undefined;
      case 'revoke': {
        const old = this.certs.get(record.serial);
        if (!old) return undefined;
        // Already revoked: a replay over an index.txt written after this record (a checkpoint's index may be
        // ahead of its journal position). The CRL it asked for is still due unless a later record says otherwise.
        if (old.status === 'R') {
          this.crl = { ...this.crl, revokedSinceLastCrl: true };
          return undefined;
        }
        const compromise = record.compromisedAt === undefined ? {} : { compromisedAt: record.compromisedAt };
        const entry: CertEntry = { ...old, status: 'R', revokedAt: record.at, reason: record.reason, ...compromise };
        this.setCert(entry);
        this.crl = { ...this.crl, revokedSinceLastCrl: true };
        return entry;
      }
      case 'crl-number':
        this.crl = {
          ...this.crl,
          lastNumber: Math.max(this.crl.lastNumber, record.number),
          lastThisUpdate: Math.max(this.crl.lastThisUpdate, record.thisUpdate),
          revokedSinceLastCrl: false,
        };
        return undefined;
      case 'crl-published':
        this.crl = { ...this.crl, published: { number: record.number, thisUpdate: record.thisUpdate, nextUpdate: record.nextUpdate } };
        return undefined;
      case 'scep':
        this.scep.apply(record);
        return undefined;
      case 'import': {
        // Only into an empty database (the importer refuses otherwise): an existing serial is never overwritten.
        if (this.certs.has(record.serial)) return undefined;
        const { serial, status, notAfter, subject, revokedAt, reason, compromisedAt } = record;
        const compromise = compromisedAt === undefined ? {} : { compromisedAt };
        const entry: CertEntry = status === 'R' ? { serial, status, notAfter, subject, revokedAt, reason, ...compromise } : { serial, status, notAfter, subject };
        this.setCert(entry);
        return entry;
      }
    }
  }

  get outcomeCount(): number {
    return this.outcomes.size;
  }

  /** Forgets outcomes recorded before `before` (ms), to keep memory bounded. */
  forgetOutcomes(before: number): void {
    for (const [req, outcome] of this.outcomes) if (outcome.at < before) this.outcomes.delete(req);
  }

  /** The outcomes recorded since `since` (ms), as a checkpoint keeps them. */
  recentOutcomes(since: number): CheckpointOutcome[] {
    const kept: CheckpointOutcome[] = [];
    for (const [req, o] of this.outcomes) {
      if (o.at < since) continue;
      kept.push(o.kind === 'refused' ? [req, o.at, 'r', o.exit, o.reason] : [req, o.at, o.kind === 'issued' ? 'i' : 'w', o.serial]);
    }
    return kept;
  }

  /** Takes back the outcomes a checkpoint kept, those since `since`; an outcome already known (from a later record) wins. */
  restoreOutcomes(outcomes: readonly CheckpointOutcome[], since: number): void {
    for (const o of outcomes) {
      const [req, at] = o;
      if (at < since || this.outcomes.has(req)) continue;
      this.outcomes.set(req, o[2] === 'r' ? { kind: 'refused', exit: o[3], reason: o[4], at } : { kind: o[2] === 'i' ? 'issued' : 'withheld', serial: o[3], at });
    }
  }

  /** The row of a certificate, -1 when unknown: rows are numbered in index.txt order, until the next leaveOnDisk(). */
  rowOf(serial: SerialHex): number {
    return this.certs.rowOf(serial);
  }

  /** The index.txt lines of rows [from, to), as one string; with `keep`, of the rows it keeps. */
  indexLines(from: number, to: number, keep?: (entry: CertEntry, row: number) => boolean): string {
    let text = '';
    for (let row = from; row < to; row++) {
      const entry = this.certs.rowAt(row);
      if (!keep || keep(entry, row)) text += formatIndexLine(entry);
    }
    return text;
  }

  /** The index.txt lines of these rows, as one string. */
  indexLinesOf(rows: readonly number[]): string {
    let text = '';
    for (const row of rows) text += formatIndexLine(this.certs.rowAt(row));
    return text;
  }

  /** The whole index.txt, in issue order, in pieces of many lines. */
  *indexChunks(): IterableIterator<string> {
    for (let row = 0; row < this.size; row += INDEX_CHUNK_LINES) yield this.indexLines(row, Math.min(this.size, row + INDEX_CHUNK_LINES));
  }

  /** The revoked certificates as the CRL path reads them: row numbers and fields, no objects (see CertTable). */
  forEachRevoked(visit: RevokedRowVisitor): void {
    this.certs.forEachRevoked(visit);
  }

  serialAt(row: number): SerialHex {
    return this.certs.serialAt(row);
  }
}

export type { RevocationReason };
