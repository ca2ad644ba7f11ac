/**
 * The lines of index.txt that start-up leaves on disk: certificates valid
 * when issued and expired since (status V or E, notAfter past). Nothing an
 * issuance does needs them but their serials' uniqueness, which a
 * SerialFilter keeps; a revoked line, expired or not, stays in memory for
 * the CRL. A CA of short-lived certificates is mostly such lines after a
 * few years, and its memory then depends on the certificates still valid,
 * not on how many were ever issued.
 *
 * The index file holds them in byte ranges; a checkpoint that rewrites the
 * index copies those ranges first, so that afterwards they are one prefix of
 * the file that a summary (cold-summary.ts) lets the next start-up skip
 * without reading it. A cold certificate that must change (an operator
 * revokes an expired certificate) is read back into memory and its line
 * excised from the ranges at the next rewrite.
 */
import type { SerialHex } from '../serial.js';
import { SerialFilter } from './serial-filter.js';

/** No index line is shorter: sizing a filter for index bytes / this never undercounts. */
export const SHORTEST_INDEX_LINE = 40;

export class ColdLines {
  /** [start, end) byte ranges of the index file, in file order, adjacent ones merged. */
  private ranges: number[] = [];
  /** Cold lines in the ranges. */
  private count = 0;
  /** Serials read back into memory whose cold lines the next rewrite leaves out. */
  private readonly excisions = new Set<SerialHex>();

  constructor(readonly filter: SerialFilter) {}

  /** For an index of `indexBytes` bytes, with room to grow. */
  static forIndexOf(indexBytes: number): ColdLines {
    return new ColdLines(SerialFilter.sized(Math.max(1024, Math.ceil(indexBytes / SHORTEST_INDEX_LINE))));
  }

  get lines(): number {
    return this.count;
  }

  /** More lines than the filter was made for: it should be made again, larger, from every line. */
  get overfull(): boolean {
    return this.count > this.filter.capacity;
  }

  /** The first `bytes` bytes of the index file are `lines` cold lines (a summary's prefix). */
  takePrefix(bytes: number, lines: number): void {
    if (bytes > 0) this.addRange(0, bytes);
    this.count += lines;
  }

  /** The line at file bytes [start, end), whose serial is line[serialStart, serialEnd), is cold. */
  add(line: Uint8Array, serialStart: number, serialEnd: number, start: number, end: number): void {
    this.filter.addBytes(line, serialStart, serialEnd);
    this.addRange(start, end);
    this.count++;
  }

  private addRange(start: number, end: number): void {
    const last = this.ranges.length - 1;
    if (last > 0 && this.ranges[last] === start) this.ranges[last] = end;
    else this.ranges.push(start, end);
  }

  mayHold(serial: SerialHex): boolean {
    return this.filter.mayHold(serial);
  }

  /** The certificate is in memory now: its cold line goes at the next rewrite. */
  excise(serial: SerialHex): void {
    this.excisions.add(serial);
  }

  isExcised(serial: SerialHex): boolean {
    return this.excisions.size > 0 && this.excisions.has(serial);
  }

  /** The byte ranges and the serials to leave out, as a rewrite starts. */
  snapshot(): { readonly ranges: readonly number[]; readonly excised: readonly SerialHex[] } {
    return { ranges: [...this.ranges], excised: [...this.excisions] };
  }

  /** The bytes of the one prefix the cold lines fill (0: none), or null when they are not one prefix. */
  get prefixBytes(): number | null {
    if (this.ranges.length === 0) return 0;
    return this.ranges.length === 2 && this.ranges[0] === 0 ? this.ranges[1]! : null;
  }

  /** Only a rewrite of the index makes them one prefix again, or leaves out the lines of excised serials. */
  get needsRewrite(): boolean {
    return this.excisions.size > 0 || this.prefixBytes === null;
  }

  /** A certificate in memory whose line a rewrite writes among the cold lines (see rewritten()): its serial now. */
  addSerial(serial: SerialHex): void {
    const bytes = Buffer.from(serial, 'latin1');
    this.filter.addBytes(bytes, 0, bytes.length);
  }

  /**
   * After a rewrite that copied a snapshot's lines, less `dropped` lines of its `excised` serials, and then
   * `joined` lines of certificates that leave memory, into its first `bytes` bytes.
   */
  rewritten(excised: readonly SerialHex[], bytes: number, dropped: number, joined: number): void {
    this.ranges = bytes > 0 ? [0, bytes] : [];
    this.count += joined - dropped;
    for (const serial of excised) this.excisions.delete(serial);
  }
}
