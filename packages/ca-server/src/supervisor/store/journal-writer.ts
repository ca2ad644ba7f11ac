/**
 * The writing end of the journal: appends whole records to the last
 * segment, flushes them with fdatasync, moves to a new segment once one
 * holds its bounded size, and puts the segment back into a known state after
 * a failed write or flush.
 *
 * - A write that fails or comes up short is cut off at once (ftruncate to
 *   the end of the last whole record), so a record never follows a torn one.
 * - A flush that fails means the page cache can no longer be trusted
 *   (PostgreSQL's "fsyncgate": the kernel may have dropped the pages it
 *   could not write and marked them clean). rewrite() reopens the segment,
 *   cuts it back to what the last good flush covered, reads that back and
 *   checks it, writes every record appended since again and flushes them:
 *   only then is anything acknowledged again.
 * - A new segment is created only once the old one is flushed, and its name
 *   is made durable (fsync of journal/) before any record in it can be
 *   acknowledged: after a power cut a segment is never whole behind a torn
 *   one.
 */
import { constants, fdatasync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJournal, encodeRecord, type JournalRecord } from '@etoken-ca/contract/core/cadb/journal';
import { segmentName } from '@etoken-ca/contract/core/cadb/layout';
import type { JournalEnd } from '@etoken-ca/contract/io/cadb/journal-files';
import { closeQuietly, fsyncDirectory, writeAll } from '@etoken-ca/contract/io/atomic-file';
import { storeError, StoreError } from './store-error.js';

const fdatasyncAsync = promisify(fdatasync);

const APPEND = constants.O_WRONLY | constants.O_APPEND;

/** A record appended since the last good flush, and where it ends in the segment. */
export interface PendingRecord {
  record: JournalRecord;
  end: number;
}

export class JournalWriter {
  private fd: number;
  /** A torn record could not be cut off: nothing is appended until rewrite(). The descriptor stays open (a flush may be using it). */
  private broken = false;
  private pendingRecords: PendingRecord[] = [];
  /** Bytes and records appended since the writer was opened (for the checkpoint's triggers). */
  appendedBytes = 0;
  appendedRecords = 0;

  private constructor(
    private readonly dir: string,
    private segmentNumber: number,
    fd: number,
    private endOffset: number,
    private durableOffset: number,
  ) {
    this.fd = fd;
  }

  /**
   * Opens the last segment for appending, after cutting off the incomplete
   * tail the loader found (a crash during an append): the torn segment is cut
   * where its whole records end, later segments (nothing whole in them) to
   * nothing, and what was cut is flushed.
   */
  static open(dir: string, end: JournalEnd): JournalWriter {
    if (end.tornBytes > 0) {
      for (let segment = end.validEnd.segment; segment <= end.lastSegment; segment++) {
        const fd = openSync(join(dir, segmentName(segment)), constants.O_WRONLY);
        try {
          ftruncateSync(fd, segment === end.validEnd.segment ? end.validEnd.offset : 0);
          fsyncSync(fd);
        } finally {
          closeQuietly(fd);
        }
      }
    }
    const fd = openSync(join(dir, segmentName(end.lastSegment)), APPEND | constants.O_CREAT, 0o600);
    const size = end.lastSegment === end.validEnd.segment ? end.validEnd.offset : 0;
    // The loader read the tail from the page cache: flushed now, the writer may count on it.
    try {
      fdatasyncSync(fd);
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
    return new JournalWriter(dir, end.lastSegment, fd, size, size);
  }

  get segment(): number {
    return this.segmentNumber;
  }

  /** Bytes of whole records in the current segment. */
  get end(): number {
    return this.endOffset;
  }

  get usable(): boolean {
    return this.fd >= 0 && !this.broken;
  }

  /** Records appended since the last good flush, oldest first. */
  get pending(): readonly PendingRecord[] {
    return this.pendingRecords;
  }

  private path(segment: number): string {
    return join(this.dir, segmentName(segment));
  }

  /**
   * Appends one record (not yet durable). On a failed or short write the
   * partial record is cut off and a StoreError thrown; when even that fails,
   * the writer takes no more records (usable: false) until rewrite() succeeds.
   */
  append(record: JournalRecord): void {
    if (!this.usable) throw new StoreError('unavailable', 'the journal is closed after a failure');
    const bytes = encodeRecord(record);
    try {
      writeAll(this.fd, bytes);
    } catch (e) {
      const error = storeError(e, `journal/${segmentName(this.segmentNumber)}: append`);
      try {
        ftruncateSync(this.fd, this.endOffset);
      } catch {
        this.broken = true;
      }
      throw error;
    }
    this.endOffset += bytes.length;
    this.appendedBytes += bytes.length;
    this.appendedRecords++;
    this.pendingRecords.push({ record, end: this.endOffset });
  }

  /** Makes every record appended so far durable. On failure nothing is marked durable and the caller must rewrite(). */
  async flush(): Promise<void> {
    const fd = this.fd;
    const segment = this.segmentNumber;
    const upTo = this.endOffset;
    if (fd < 0) throw new StoreError('unavailable', 'the journal is closed after a failure');
    try {
      await fdatasyncAsync(fd);
    } catch (e) {
      throw storeError(e, `journal/${segmentName(segment)}: fdatasync`);
    }
    if (fd === this.fd && segment === this.segmentNumber) this.markDurable(upTo);
  }

  private markDurable(upTo: number): void {
    this.durableOffset = Math.max(this.durableOffset, upTo);
    const stillPending = this.pendingRecords.findIndex((p) => p.end > upTo);
    this.pendingRecords = stillPending < 0 ? [] : this.pendingRecords.slice(stillPending);
  }

  /** Swaps a pending record for another before rewrite() writes it again (a failed batch's issue becomes a withhold). */
  replacePending(index: number, record: JournalRecord): void {
    const pending = this.pendingRecords[index];
    if (pending) pending.record = record;
  }

  /**
   * Moves to a new segment: the current one flushed (its records durable),
   * the next one created and its name flushed. Only when no flush is running.
   * Throws a StoreError when the flush fails (rewrite() next) or the new
   * segment cannot be made (the current one stays in use).
   */
  rotate(): void {
    if (!this.usable) throw new StoreError('unavailable', 'the journal is closed after a failure');
    try {
      fdatasyncSync(this.fd);
    } catch (e) {
      throw storeError(e, `journal/${segmentName(this.segmentNumber)}: fdatasync`);
    }
    this.markDurable(this.endOffset);
    const next = this.segmentNumber + 1;
    let fd: number;
    try {
      fd = openSync(this.path(next), APPEND | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (e) {
      throw storeError(e, `journal/${segmentName(next)}: create`);
    }
    try {
      fsyncDirectory(this.dir);
    } catch (e) {
      // The old segment stays in use; an empty next segment left behind is harmless and taken over later.
      closeQuietly(fd);
      throw storeError(e, 'journal/: fsync');
    }
    const old = this.fd;
    this.fd = fd;
    this.segmentNumber = next;
    this.endOffset = 0;
    this.durableOffset = 0;
    closeQuietly(old);
  }

  /**
   * After a failed flush or an append that could not be cut back: reopens the
   * segment, cuts it to what the last good flush covered, reads that back
   * and checks that it is whole, writes the pending records again and
   * flushes them. Throws when any step fails; the writer is then closed
   * (usable: false) and rewrite() may be tried again.
   */
  rewrite(): void {
    this.closeAfterFailure();
    const name = `journal/${segmentName(this.segmentNumber)}`;
    let fd: number;
    try {
      fd = openSync(this.path(this.segmentNumber), constants.O_RDWR | constants.O_APPEND);
    } catch (e) {
      throw storeError(e, `${name}: reopen`);
    }
    try {
      ftruncateSync(fd, this.durableOffset);
      fdatasyncSync(fd);
      const flushed = Buffer.alloc(this.durableOffset);
      for (let offset = 0; offset < flushed.length; ) {
        const n = readSync(fd, flushed, offset, flushed.length - offset, offset);
        if (n <= 0) throw new StoreError('write-failed', `${name}: read back ${offset} of ${flushed.length} bytes`);
        offset += n;
      }
      const decoded = decodeJournal(flushed);
      if (decoded.damage || decoded.validBytes !== flushed.length) {
        throw new StoreError('unavailable', `${name}: the ${flushed.length} flushed bytes do not read back as whole records`);
      }
      let end = this.durableOffset;
      for (const pending of this.pendingRecords) {
        const bytes = encodeRecord(pending.record);
        writeAll(fd, bytes);
        end += bytes.length;
        pending.end = end;
      }
      fdatasyncSync(fd);
      this.fd = fd;
      this.broken = false;
      this.endOffset = end;
      this.markDurable(end);
    } catch (e) {
      closeQuietly(fd);
      throw storeError(e, `${name}: rewrite after a failure`);
    }
  }

  private closeAfterFailure(): void {
    const fd = this.fd;
    this.fd = -1;
    if (fd >= 0) closeQuietly(fd);
  }

  /** Flushes and closes (the server stops). */
  close(): void {
    const fd = this.fd;
    this.fd = -1;
    if (fd < 0) return;
    try {
      fdatasyncSync(fd);
    } finally {
      closeQuietly(fd);
    }
  }
}
