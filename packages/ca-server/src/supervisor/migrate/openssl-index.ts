/**
 * Reading what `openssl ca` left: index.txt lines (compromise times kept,
 * a hold instruction read as certificateHold), the serial and crlnumber
 * counters. Pure.
 */
import { parseIndexLine, type IndexEntry } from '@etoken-ca/contract/core/cadb/index-line';
import { badRequest } from '@etoken-ca/contract/core/exit-codes';
import { normalizeSerial } from '@etoken-ca/contract/core/serial';

export function parseOpensslIndex(text: string, file: string): IndexEntry[] {
  const entries: IndexEntry[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const parsed = parseIndexLine(line);
    const serial = parsed && normalizeSerial(parsed.serial);
    if (!parsed || !serial) throw badRequest(`${file}:${i + 1}: not an index.txt line openssl ca writes`);
    if (seen.has(serial)) throw badRequest(`${file}:${i + 1}: serial ${serial} appears twice`);
    seen.add(serial);
    entries.push({ ...parsed, serial });
  });
  return entries;
}

/** A counter file (serial, crlnumber): one hex number, the next one to use. */
export function parseHexCounter(text: string, file: string): bigint {
  const digits = text.trim();
  if (!/^[0-9A-Fa-f]{1,80}$/.test(digits)) throw badRequest(`${file}: not a hex number`);
  return BigInt(`0x${digits}`);
}
