/**
 * The checkpoint's side of the cold lines (contract cold-lines.ts): copying
 * them to the start of a rewritten index, less the lines of certificates
 * read back into memory, and writing the summary that lets start-up skip
 * them.
 */
import { constants, fdatasync, openSync, readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeColdSummary, type ColdSummary } from '@etoken-ca/contract/core/cadb/cold-summary';
import { coldSummaryName, parseColdSummaryName } from '@etoken-ca/contract/core/cadb/layout';
import { lineStartsHolding, serialNeedle } from '@etoken-ca/contract/core/cadb/line-search';
import type { SerialHex } from '@etoken-ca/contract/core/serial';
import { closeQuietly, unlinkQuietly } from '@etoken-ca/contract/io/atomic-file';
import { writeAllAsync } from './checked-io.js';

const fdatasyncAsync = promisify(fdatasync);
const PIECE = 8 * 1024 * 1024;
const NEWLINE = 0x0a;

/** `lines` (whole lines) less those holding one of the needles, as the pieces to write; and how many were left out. */
function withoutLinesHolding(lines: Buffer, needles: readonly Buffer[]): { kept: Buffer[]; dropped: number } {
  const starts = lineStartsHolding(lines, needles);
  const kept: Buffer[] = [];
  let from = 0;
  for (const start of starts) {
    if (start > from) kept.push(lines.subarray(from, start));
    from = lines.indexOf(NEWLINE, start) + 1;
  }
  if (from < lines.length) kept.push(lines.subarray(from));
  return { kept, dropped: starts.length };
}

/**
 * Appends the cold lines of `indexPath` (byte ranges, whole lines) to `fd`, less the lines naming an excised
 * serial, in pieces that let requests run between them. Returns the bytes written and the lines left out.
 */
export async function copyColdLines(indexPath: string, ranges: readonly number[], excised: readonly SerialHex[], fd: number): Promise<{ bytes: number; dropped: number }> {
  const needles = excised.map(serialNeedle);
  const source = await open(indexPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  const piece = Buffer.allocUnsafe(PIECE);
  let bytes = 0;
  let dropped = 0;
  try {
    for (let r = 0; r + 1 < ranges.length; r += 2) {
      const end = ranges[r + 1]!;
      for (let at = ranges[r]!; at < end; ) {
        const wanted = Math.min(PIECE, end - at);
        let { bytesRead } = await source.read(piece, 0, wanted, at);
        // The index's last line may lack its newline (start-up counted one): the file ends one byte short, and the line gets it here.
        if (bytesRead > 0 && at + bytesRead === end - 1 && bytesRead < wanted && piece[bytesRead - 1] !== NEWLINE) piece[bytesRead++] = NEWLINE;
        if (bytesRead === 0) throw new Error(`${indexPath} ends at byte ${at}, before its cold lines do`);
        // Whole lines only, so that a left-out line is never cut; a range always ends with one.
        const whole = at + bytesRead === end ? bytesRead : piece.lastIndexOf(NEWLINE, bytesRead - 1) + 1;
        if (whole === 0) throw new Error(`${indexPath}: a line at byte ${at} is longer than ${PIECE} bytes`);
        const lines = piece.subarray(0, whole);
        const { kept, dropped: left } = needles.length > 0 ? withoutLinesHolding(lines, needles) : { kept: [lines], dropped: 0 };
        for (const part of kept) {
          await writeAllAsync(fd, part);
          bytes += part.length;
        }
        dropped += left;
        at += whole;
      }
    }
  } finally {
    await source.close();
  }
  return { bytes, dropped };
}

/** Writes and flushes the summary of checkpoint `generation` (its name made durable by the caller's directory fsync). */
export async function writeColdSummary(dir: string, generation: number, summary: ColdSummary): Promise<void> {
  const path = join(dir, coldSummaryName(generation));
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
    for (const part of encodeColdSummary(summary)) await writeAllAsync(fd, part);
    await fdatasyncAsync(fd);
  } catch (e) {
    unlinkQuietly(path);
    throw e;
  } finally {
    closeQuietly(fd);
  }
}

/** Removes the summaries of other checkpoints than `keep` (null: all of them): only the committed one is ever read. */
export function removeOtherSummaries(dir: string, keep: number | null): void {
  for (const name of readdirSync(dir)) {
    const generation = parseColdSummaryName(name);
    if (generation !== null && generation !== keep) unlinkQuietly(join(dir, name));
  }
}
