/**
 * Files of the CA directory. The first five are what `openssl ca` expects, so
 * `openssl ca -status` keeps working and an operator can migrate; the journal
 * is the durable record they are derived from.
 *
 *   index.txt  index.txt.attr  serial  crlnumber  newcerts/<SERIAL>.pem
 *   journal/<NNNNNNNN>.jnl   append-only, fdatasync'ed before any answer, in segments of bounded size
 *   checkpoint.json          which journal position index.txt reflects, and the recent request outcomes
 *   index.txt.<G>.new        the index a checkpoint rewrote, until it is renamed to index.txt
 *   index.txt.<G>.cold       what the index's cold prefix holds (cold-summary.ts), written by checkpoint G
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
  /** The symlink naming the one process that writes the directory (the server, or an import). */
  readonly serverLock: string;
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
    serverLock: join(dir, 'server.lock'),
  };
}

export const segmentName = (n: number): string => `${String(n).padStart(8, '0')}.jnl`;

export function parseSegmentName(name: string): number | null {
  const m = /^(\d{8})\.jnl$/.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * A request's outcome as a checkpoint keeps it: [req, at, 'i' issued | 'w' withheld, serial] or
 * [req, at, 'r' refused, exit, reason].
 */
export type CheckpointOutcome =
  | readonly [req: string, at: number, kind: 'i' | 'w', serial: string]
  | readonly [req: string, at: number, kind: 'r', exit: number, reason: string];

/**
 * What index.txt reflects: every journal record before (segment, offset) is
 * in its first indexBytes bytes (records after it may be too: replaying them
 * changes nothing). `generation` counts checkpoints; a checkpoint that
 * rewrote the index names it index.txt.<generation>.new until the rename to
 * index.txt, and a reader takes that file while it exists. `outcomes` are the
 * requests finished shortly before, so that a client still waiting after a
 * restart is answered from its record instead of being signed for twice.
 */
export interface Checkpoint {
  readonly generation: number;
  readonly segment: number;
  readonly offset: number;
  readonly indexBytes: number;
  readonly crl: {
    readonly lastNumber: number;
    readonly lastThisUpdate: number;
    readonly published: { readonly number: number; readonly thisUpdate: number; readonly nextUpdate: number } | null;
    readonly revokedSinceLastCrl?: boolean;
  };
  readonly outcomes: readonly CheckpointOutcome[];
  /**
   * The index's first `bytes` bytes are `lines` expired certificates (cold-lines.ts) that the summary
   * index.txt.<generation>.cold describes; absent when there is no such prefix.
   */
  readonly cold?: ColdPrefix;
}

export interface ColdPrefix {
  readonly generation: number;
  readonly bytes: number;
  readonly lines: number;
}

export const EMPTY_CHECKPOINT: Checkpoint = {
  generation: 0,
  segment: 1,
  offset: 0,
  indexBytes: 0,
  crl: { lastNumber: 0, lastThisUpdate: 0, published: null },
  outcomes: [],
};

/** The name of the index a checkpoint of this generation rewrote, until it becomes index.txt. */
export const rewrittenIndexName = (generation: number): string => `index.txt.${generation}.new`;

/** The name of the cold prefix's summary that the checkpoint of this generation wrote. */
export const coldSummaryName = (generation: number): string => `index.txt.${generation}.cold`;

export function parseColdSummaryName(name: string): number | null {
  const m = /^index\.txt\.(\d+)\.cold$/.exec(name);
  return m ? Number(m[1]) : null;
}

const isColdPrefix = (c: unknown): c is ColdPrefix => {
  const p = c as Partial<ColdPrefix> | null;
  return typeof p === 'object' && p !== null && [p.generation, p.bytes, p.lines].every((n) => Number.isInteger(n) && n! >= 0);
};

const isOutcome = (o: unknown): o is CheckpointOutcome =>
  Array.isArray(o) &&
  typeof o[0] === 'string' &&
  Number.isFinite(o[1]) &&
  (((o[2] === 'i' || o[2] === 'w') && typeof o[3] === 'string' && o.length === 4) ||
    (o[2] === 'r' && Number.isInteger(o[3]) && typeof o[4] === 'string' && o.length === 5));

export function parseCheckpoint(text: string): Checkpoint | null {
  try {
    const c = JSON.parse(text) as Partial<Checkpoint>;
    const outcomes = c.outcomes ?? [];
    const ok =
      (c.generation === undefined || Number.isInteger(c.generation)) &&
      Number.isInteger(c.segment) &&
      Number.isInteger(c.offset) &&
      Number.isInteger(c.indexBytes) &&
      c.crl &&
      Number.isInteger(c.crl.lastNumber) &&
      Array.isArray(outcomes) &&
      outcomes.every(isOutcome) &&
      (c.cold === undefined || isColdPrefix(c.cold));
    return ok ? ({ ...c, generation: c.generation ?? 0, outcomes } as Checkpoint) : null;
  } catch {
    return null;
  }
}
