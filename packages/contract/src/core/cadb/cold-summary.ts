/**
 * The summary a checkpoint writes of the cold prefix of index.txt (see
 * cold-lines.ts), so that start-up need not read it: how many bytes and
 * lines it holds and the filter of their serials. One JSON line, then the
 * filter's bits:
 *   {"bytes":B,"lines":L,"capacity":C,"crc":X}\n<bits>
 * A summary that does not match its checkpoint or its checksum is not used:
 * start-up then reads the whole index, as it does without one.
 */
import { crc32 } from './crc32.js';
import { SerialFilter } from './serial-filter.js';

export interface ColdSummary {
  readonly bytes: number;
  readonly lines: number;
  readonly filter: SerialFilter;
}

const NEWLINE = 0x0a;

export function encodeColdSummary(summary: ColdSummary): Buffer[] {
  const { bits, capacity } = summary.filter;
  const head = { bytes: summary.bytes, lines: summary.lines, capacity, crc: crc32(bits) };
  return [Buffer.from(`${JSON.stringify(head)}\n`), Buffer.from(bits.buffer, bits.byteOffset, bits.byteLength)];
}

/** The summary in `file`, when it is whole and describes `bytes` bytes and `lines` lines; null otherwise. */
export function decodeColdSummary(file: Buffer, bytes: number, lines: number): ColdSummary | null {
  const newline = file.indexOf(NEWLINE);
  if (newline < 0 || newline > 200) return null;
  let head: Record<string, unknown>;
  try {
    head = JSON.parse(file.toString('utf8', 0, newline)) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (head.bytes !== bytes || head.lines !== lines || !Number.isInteger(head.capacity) || !Number.isInteger(head.crc)) return null;
  const bits = file.subarray(newline + 1);
  if (crc32(bits) !== head.crc) return null;
  const filter = SerialFilter.fromBits(bits, head.capacity as number);
  return filter && { bytes, lines, filter };
}
