/**
 * Reading index.txt in pieces, up to the length the checkpoint gives: the
 * index of a large CA is a hundred MB that need not be in memory at once.
 * What the pieces' lines mean is CaDatabase.loadIndex's business alone.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { EtokenError, ExitCode } from '../../core/exit-codes.js';
import { cannotRead } from './read-optional.js';

const INDEX_PIECE = 8 * 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * Hands `load` the index file's bytes [from, length) as pieces of whole
 * lines, in order, each ending with a newline (a last line without one gets
 * it), with the file offset of each piece; `load` returns how many lines it
 * found malformed, and any such line makes the index corrupt.
 */
export function loadIndexPieces(path: string, length: number, load: (lines: Buffer, at: number) => number, from = 0): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (length > 0) throw new EtokenError(ExitCode.software, `${path} is missing, but the checkpoint says it holds ${length} bytes`);
      return;
    }
    throw cannotRead(path, e);
  }
  let bad = 0;
  let loaded = from;
  try {
    let piece = Buffer.alloc(Math.min(INDEX_PIECE, Math.max(length - from, 1)));
    let carried = 0;
    for (let offset = from; offset < length; ) {
      if (carried === piece.length) piece = Buffer.concat([piece, Buffer.alloc(piece.length)]);
      const n = readSync(fd, piece, carried, Math.min(piece.length - carried, length - offset), offset);
      if (n === 0) break;
      offset += n;
      loaded = offset;
      const whole = piece.lastIndexOf(NEWLINE, carried + n - 1) + 1;
      if (whole > 0) bad += load(piece.subarray(0, whole), offset - carried - n);
      carried = carried + n - whole;
      piece.copy(piece, 0, whole, whole + carried);
    }
    // A last line without its newline is still a line.
    if (carried > 0) bad += load(Buffer.concat([piece.subarray(0, carried), Buffer.of(NEWLINE)]), loaded - carried);
  } catch (e) {
    throw e instanceof EtokenError ? e : cannotRead(path, e);
  } finally {
    closeSync(fd);
  }
  if (loaded < length) throw new EtokenError(ExitCode.software, `${path} has ${loaded} bytes, but the checkpoint says it holds ${length}`);
  if (bad > 0) throw new EtokenError(ExitCode.software, `${path}: ${bad} malformed line(s) before the checkpoint`);
}
