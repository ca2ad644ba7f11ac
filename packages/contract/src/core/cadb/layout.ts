/**
 * Files of the CA directory. The first five are what `openssl ca` expects, so
 * `openssl ca -status` keeps working and an operator can migrate; the journal
 * is the durable record they are derived from.
 *
 *   index.txt  index.txt.attr  serial  crlnumber  newcerts/<SERIAL>.pem
 *   journal/<NNNNNNNN>.jnl   append-only, fdatasync'ed before any answer
 *   checkpoint.json          which journal position index.txt reflects
 *   crl/                     published CRLs and the latest-CRL link
 */
import { join } from 'node:path';

export interface CaLayout {
  readonly dir: string;
  readonly index: string;
  readonly indexAttr: string;
  readonly serial: string;
  readonly crlNumber: string;
  readonly newcerts: string;
  readonly journal: string;
  readonly checkpoint: string;
  readonly crl: string;
}

export function caLayout(dir: string): CaLayout {
  return {
    dir,
    index: join(dir, 'index.txt'),
    indexAttr: join(dir, 'index.txt.attr'),
    serial: join(dir, 'serial'),
    crlNumber: join(dir, 'crlnumber'),
    newcerts: join(dir, 'newcerts'),
    journal: join(dir, 'journal'),
    checkpoint: join(dir, 'checkpoint.json'),
    crl: join(dir, 'crl'),
  };
}

export const segmentName = (n: number): string => `${String(n).padStart(8, '0')}.jnl`;

export function parseSegmentName(name: string): number | null {
  const m = /^(\d{8})\.jnl$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** What index.txt reflects: the journal up to (segment, offset), index.txt up to indexBytes. */
export interface Checkpoint {
  readonly segment: number;
  readonly offset: number;
  readonly indexBytes: number;
  readonly crl: {
    readonly lastNumber: number;
    readonly lastThisUpdate: number;
    readonly published: { readonly number: number; readonly thisUpdate: number; readonly nextUpdate: number } | null;
  };
}

export const EMPTY_CHECKPOINT: Checkpoint = {
  segment: 1,
  offset: 0,
  indexBytes: 0,
  crl: { lastNumber: 0, lastThisUpdate: 0, published: null },
};

export function parseCheckpoint(text: string): Checkpoint | null {
  try {
    const c = JSON.parse(text) as Checkpoint;
    const ok =
      Number.isInteger(c.segment) && Number.isInteger(c.offset) && Number.isInteger(c.indexBytes) && c.crl && Number.isInteger(c.crl.lastNumber);
    return ok ? c : null;
  } catch {
    return null;
  }
}
