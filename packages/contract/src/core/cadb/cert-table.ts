/**
 * The certificates of the CA database, column by column: typed arrays and
 * byte pools instead of one object and two strings per certificate, with an
 * open-addressing hash of the serials: a fraction of the memory (README,
 * Performance), and loading index.txt copies serials and subjects straight
 * from its bytes without making a string of either.
 * Rows keep insertion order (index.txt order); an update rewrites a row in place;
 * compact() drops rows (expired certificates leaving memory) and renumbers
 * the rest, which `epoch` counts.
 * A subject is kept once however many rows share it (a MyProxy CA issues the
 * same few thousand users certificate after certificate).
 */
import type { SerialHex } from '../serial.js';
import { fnv1a } from './fnv1a.js';
import { REVOCATION_REASONS, type IndexEntry, type RawIndexLine, type RevocationReason } from './index-line.js';

export interface CertRow extends IndexEntry {
  /** Signed (or maybe signed) and never handed out. */
  readonly withheld?: boolean;
}

/** revokedAt is NaN when the row has none (an index line without a revocation date); compromisedAt is undefined without one. */
export type RevokedRowVisitor = (row: number, revokedAt: number, reason: RevocationReason | undefined, notAfter: number, compromisedAt: number | undefined) => void;

const NO_REASON = -1;
const REVOKED = 'R'.charCodeAt(0);
const EMPTY = 0;

function grown<T extends Float64Array | Uint32Array | Uint8Array | Int8Array>(array: T, capacity: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(capacity);
  bigger.set(array);
  return bigger;
}

/** A plain loop: Buffer#copy costs more than the forty bytes it would move. */
function copyBytes(from: Uint8Array, start: number, end: number, to: Uint8Array, at: number): void {
  for (let i = start; i < end; i++) to[at + i - start] = from[i]!;
}

/** Puts `value` in the first free slot from the hash's own: the insert of both open-addressing tables. */
function putInFreeSlot(slots: Uint32Array, hash: number, value: number): void {
  const mask = slots.length - 1;
  let slot = hash & mask;
  while (slots[slot] !== EMPTY) slot = (slot + 1) & mask;
  slots[slot] = value;
}

function sameBytes(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

function grownPool(pool: Buffer, needed: number): Buffer {
  if (needed <= pool.length) return pool;
  const bigger = Buffer.allocUnsafe(Math.max(needed, pool.length * 2));
  pool.copy(bigger);
  return bigger;
}

export class CertTable {
  /** How many times rows were renumbered (compact()): a row number is good for one epoch. */
  private compactions = 0;
  private rows = 0;
  private capacity = 0;
  private status = new Uint8Array(0);
  private notAfter = new Float64Array(0);
  /** NaN: not revoked. */
  private revokedAt = new Float64Array(0);
  private reason = new Int8Array(0);
  /** Compromise times (keyCompromise, CACompromise), by row: few rows have one, so a map rather than a column. */
  private readonly compromisedAt = new Map<number, number>();
  private withheld = new Uint8Array(0);
  private serialStart = new Uint32Array(0);
  private serialLength = new Uint8Array(0);
  private subjectStart = new Uint32Array(0);
  private subjectLength = new Uint32Array(0);
  private serialPool: Buffer = Buffer.alloc(0);
  private serialBytes = 0;
  private subjectPool: Buffer = Buffer.alloc(0);
  private subjectBytes = 0;
  /** Open addressing: row + 1, EMPTY for a free slot; at most half full. */
  private slots = new Uint32Array(16);
  /** Each distinct subject's place in the subject pool and its hash, and the same kind of table over them: distinct + 1. */
  private distinctStart = new Uint32Array(1024);
  private distinctLength = new Uint32Array(1024);
  private distinctHash = new Uint32Array(1024);
  private distinctCount = 0;
  private subjectSlots = new Uint32Array(2048);

  get size(): number {
    return this.rows;
  }

  get epoch(): number {
    return this.compactions;
  }

  /**
   * Keeps the rows `keep` says, in their order, numbered from 0 again; their serials move to a new pool. Subjects
   * stay where they are: each is kept once for every row that shares it, whoever still does.
   */
  compact(keep: (row: number) => boolean): void {
    const kept: number[] = [];
    for (let row = 0; row < this.rows; row++) if (keep(row)) kept.push(row);
    if (kept.length === this.rows) return;
    const serialPool = Buffer.allocUnsafe(Math.max(64, this.serialBytes));
    let serialBytes = 0;
    const compromised = new Map<number, number>();
    kept.forEach((from, to) => {
      const start = this.serialStart[from]!;
      const length = this.serialLength[from]!;
      copyBytes(this.serialPool, start, start + length, serialPool, serialBytes);
      this.serialStart[to] = serialBytes;
      this.serialLength[to] = length;
      serialBytes += length;
      this.status[to] = this.status[from]!;
      this.notAfter[to] = this.notAfter[from]!;
      this.revokedAt[to] = this.revokedAt[from]!;
      this.reason[to] = this.reason[from]!;
      this.withheld[to] = this.withheld[from]!;
      this.subjectStart[to] = this.subjectStart[from]!;
      this.subjectLength[to] = this.subjectLength[from]!;
      const compromisedAt = this.compromisedAt.get(from);
      if (compromisedAt !== undefined) compromised.set(to, compromisedAt);
    });
    this.serialPool = serialPool;
    this.serialBytes = serialBytes;
    this.compromisedAt.clear();
    for (const [row, at] of compromised) this.compromisedAt.set(row, at);
    this.rows = kept.length;
    this.slots = new Uint32Array(this.slots.length);
    for (let row = 0; row < this.rows; row++) this.insertSlot(row);
    this.compactions++;
  }

  /**
   * The rows of certificates valid when issued (V or E) and expired before `before`, in row order; none when there
   * are fewer than `atLeast` of them (counted first, so a checkpoint below its threshold builds no list).
   */
  expiredValidRows(before: number, atLeast = 0): number[] {
    const expired = (row: number): boolean => this.status[row] !== REVOKED && this.notAfter[row]! < before;
    let count = 0;
    for (let row = 0; row < this.rows; row++) if (expired(row)) count++;
    if (count === 0 || count < atLeast) return [];
    const found: number[] = [];
    for (let row = 0; row < this.rows; row++) if (expired(row)) found.push(row);
    return found;
  }

  /**
   * Makes room for up to `rows` rows and `bytes` bytes of index.txt without regrowing the columns and pools: pages
   * never written are never resident, so an upper bound costs nothing. The serial hash grows with the rows held:
   * its inserts land anywhere in it.
   */
  reserve(rows: number, bytes: number): void {
    this.growColumns(rows);
    this.serialPool = grownPool(this.serialPool, rows * 32);
    this.subjectPool = grownPool(this.subjectPool, bytes);
  }

  has(serial: SerialHex): boolean {
    return this.find(serial) >= 0;
  }

  get(serial: SerialHex): CertRow | undefined {
    const row = this.find(serial);
    return row < 0 ? undefined : this.rowAt(row);
  }

  /** The row of a serial, -1 when it has none. */
  rowOf(serial: SerialHex): number {
    return this.find(serial);
  }

  private find(serial: SerialHex): number {
    return this.stageSerial(serial) ? this.findStaged(serial.length) : -1;
  }

  /** Inserts, or rewrites the row of the same serial in place. */
  set(entry: CertRow): void {
    if (!this.stageSerial(entry.serial)) throw new Error(`serial ${entry.serial} is not hexadecimal`);
    const row = this.rowForStaged(entry.serial.length);
    const length = Buffer.byteLength(entry.subject);
    this.subjectPool = grownPool(this.subjectPool, this.subjectBytes + length);
    this.subjectPool.write(entry.subject, this.subjectBytes, 'utf8');
    this.placeSubject(row, this.subjectPool, this.subjectBytes, length);
    this.setFields(row, entry);
  }

  /** set() for a parsed index.txt line, copying serial and subject bytes from `line`. */
  setRaw(line: Buffer, raw: RawIndexLine): void {
    this.serialPool = grownPool(this.serialPool, this.serialBytes + raw.serialEnd - raw.serialStart);
    copyBytes(line, raw.serialStart, raw.serialEnd, this.serialPool, this.serialBytes);
    const row = this.rowForStaged(raw.serialEnd - raw.serialStart);
    this.placeSubject(row, line, raw.subjectStart, raw.subjectEnd - raw.subjectStart);
    this.setFields(row, raw);
  }

  /**
   * Lookups work on bytes: the serial is first written just past the end of
   * the serial pool ("staged"), where it stays as the new row's serial if
   * it is not found. False for a serial that is not ASCII.
   */
  private stageSerial(serial: SerialHex): boolean {
    this.serialPool = grownPool(this.serialPool, this.serialBytes + serial.length);
    for (let i = 0; i < serial.length; i++) {
      const c = serial.charCodeAt(i);
      if (c > 0x7f) return false;
      this.serialPool[this.serialBytes + i] = c;
    }
    return true;
  }

  private findStaged(length: number): number {
    const mask = this.slots.length - 1;
    for (let slot = fnv1a(this.serialPool, this.serialBytes, length) & mask; ; slot = (slot + 1) & mask) {
      const stored = this.slots[slot]!;
      if (stored === EMPTY) return -1;
      if (this.serialLength[stored - 1] === length && sameBytes(this.serialPool, this.serialStart[stored - 1]!, this.serialPool, this.serialBytes, length)) return stored - 1;
    }
  }

  /** The row of the staged serial, a new one when it is not there yet. */
  private rowForStaged(length: number): number {
    const found = this.findStaged(length);
    if (found >= 0) return found;
    const row = this.rows;
    this.ensureRows(row + 1);
    this.serialStart[row] = this.serialBytes;
    this.serialLength[row] = length;
    this.serialBytes += length;
    this.rows = row + 1;
    this.insertSlot(row);
    return row;
  }

  /**
   * The subject in source[start, start + length) belongs to `row`: an earlier copy in the pool serves if there is
   * one (hashed and compared where it lies, so a repeated subject is never copied), else it is copied to the
   * pool's end (set() writes it there first).
   */
  private placeSubject(row: number, source: Uint8Array, start: number, length: number): void {
    const hash = fnv1a(source, start, length);
    const mask = this.subjectSlots.length - 1;
    let slot = hash & mask;
    for (let stored = this.subjectSlots[slot]!; stored !== EMPTY; stored = this.subjectSlots[slot]!) {
      const distinct = stored - 1;
      const at = this.distinctStart[distinct]!;
      if (this.distinctHash[distinct] === hash && this.distinctLength[distinct] === length && sameBytes(this.subjectPool, at, source, start, length)) {
        this.subjectStart[row] = at;
        this.subjectLength[row] = length;
        return;
      }
      slot = (slot + 1) & mask;
    }
    const at = this.subjectBytes;
    if (source !== this.subjectPool || start !== at) {
      this.subjectPool = grownPool(this.subjectPool, at + length);
      copyBytes(source, start, start + length, this.subjectPool, at);
    }
    this.subjectStart[row] = at;
    this.subjectLength[row] = length;
    this.subjectBytes += length;
    this.addDistinct(at, length, hash, slot);
  }

  private addDistinct(start: number, length: number, hash: number, slot: number): void {
    const index = this.distinctCount++;
    if (index === this.distinctStart.length) {
      this.distinctStart = grown(this.distinctStart, index * 2);
      this.distinctLength = grown(this.distinctLength, index * 2);
      this.distinctHash = grown(this.distinctHash, index * 2);
    }
    this.distinctStart[index] = start;
    this.distinctLength[index] = length;
    this.distinctHash[index] = hash;
    this.subjectSlots[slot] = index + 1;
    if (this.distinctCount * 2 > this.subjectSlots.length) {
      this.subjectSlots = new Uint32Array(this.subjectSlots.length * 2);
      for (let d = 0; d < this.distinctCount; d++) putInFreeSlot(this.subjectSlots, this.distinctHash[d]!, d + 1);
    }
  }

  private setFields(row: number, fields: Pick<CertRow, 'status' | 'notAfter' | 'revokedAt' | 'reason' | 'compromisedAt' | 'withheld'>): void {
    this.status[row] = fields.status.charCodeAt(0);
    this.notAfter[row] = fields.notAfter;
    this.revokedAt[row] = fields.revokedAt ?? Number.NaN;
    this.reason[row] = fields.reason === undefined ? NO_REASON : REVOCATION_REASONS.indexOf(fields.reason);
    this.withheld[row] = fields.withheld ? 1 : 0;
    // Few rows have a compromise time: the map is not touched for the others while it is empty (loading a million rows).
    if (fields.compromisedAt !== undefined) this.compromisedAt.set(row, fields.compromisedAt);
    else if (this.compromisedAt.size > 0) this.compromisedAt.delete(row);
  }

  /** Every row, in insertion order. */
  *values(): IterableIterator<CertRow> {
    for (let row = 0; row < this.rows; row++) yield this.rowAt(row);
  }

  /**
   * Each revoked row's number (stable until the next compact()) and revocation
   * fields, in row order, without making a row object or a string: the CRL
   * path reads only these.
   */
  forEachRevoked(visit: RevokedRowVisitor): void {
    for (let row = 0; row < this.rows; row++) {
      if (this.status[row] !== REVOKED) continue;
      const reason = this.reason[row]!;
      visit(row, this.revokedAt[row]!, reason === NO_REASON ? undefined : REVOCATION_REASONS[reason], this.notAfter[row]!, this.compromisedAt.get(row));
    }
  }

  serialAt(row: number): SerialHex {
    return this.serialPool.toString('latin1', this.serialStart[row]!, this.serialStart[row]! + this.serialLength[row]!);
  }

  rowAt(row: number): CertRow {
    const status = String.fromCharCode(this.status[row]!) as IndexEntry['status'];
    const entry: { -readonly [K in keyof CertRow]: CertRow[K] } = {
      serial: this.serialAt(row),
      status,
      notAfter: this.notAfter[row]!,
      subject: this.subjectPool.toString('utf8', this.subjectStart[row]!, this.subjectStart[row]! + this.subjectLength[row]!),
    };
    if (!Number.isNaN(this.revokedAt[row]!)) entry.revokedAt = this.revokedAt[row]!;
    if (this.reason[row] !== NO_REASON) entry.reason = REVOCATION_REASONS[this.reason[row]!]!;
    const compromisedAt = this.compromisedAt.get(row);
    if (compromisedAt !== undefined) entry.compromisedAt = compromisedAt;
    if (this.withheld[row]) entry.withheld = true;
    return entry;
  }

  private insertSlot(row: number): void {
    putInFreeSlot(this.slots, fnv1a(this.serialPool, this.serialStart[row]!, this.serialLength[row]!), row + 1);
  }

  private ensureRows(rows: number): void {
    this.growColumns(rows);
    if (rows * 2 > this.slots.length) {
      let size = this.slots.length;
      while (rows * 2 > size) size *= 2;
      this.slots = new Uint32Array(size);
      for (let row = 0; row < this.rows; row++) this.insertSlot(row);
    }
  }

  private growColumns(rows: number): void {
    if (rows > this.capacity) {
      const capacity = Math.max(rows, this.capacity * 2, 1024);
      this.status = grown(this.status, capacity);
      this.notAfter = grown(this.notAfter, capacity);
      this.revokedAt = grown(this.revokedAt, capacity);
      this.reason = grown(this.reason, capacity);
      this.withheld = grown(this.withheld, capacity);
      this.serialStart = grown(this.serialStart, capacity);
      this.serialLength = grown(this.serialLength, capacity);
      this.subjectStart = grown(this.subjectStart, capacity);
      this.subjectLength = grown(this.subjectLength, capacity);
      this.capacity = capacity;
    }
  }
}
