/** Finding the index lines that name a serial, by bytes: a whole index is searched without parsing it. */
const NEWLINE = 0x0a;

/** The needle that finds a serial's line: the serial field is the only one a tab-delimited hex serial can match. */
export const serialNeedle = (serial: string): Buffer => Buffer.from(`\t${serial}\t`, 'latin1');

/** Where the lines of `lines` (whole lines) that hold one of the needles start, in order, each once. */
export function lineStartsHolding(lines: Buffer, needles: readonly Buffer[]): number[] {
  const starts = new Set<number>();
  for (const needle of needles) {
    for (let at = lines.indexOf(needle); at >= 0; at = lines.indexOf(needle, at + needle.length)) starts.add(lines.lastIndexOf(NEWLINE, at) + 1);
  }
  return [...starts].sort((a, b) => a - b);
}
