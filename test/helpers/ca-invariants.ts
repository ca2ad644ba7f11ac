/**
 * What must hold in a CA directory after any crash, read straight from the
 * files (index.txt, the journal, newcerts/): every index line well-formed and
 * complete, no serial twice, index.txt and the journal naming the same
 * certificates, no request signed twice, every maybe-signed serial withheld
 * (revoked), and every certificate a client was given recorded as valid.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIndexLine, type IndexEntry } from '@etoken-ca/contract/core/cadb/index-line';
import { decodeJournal, type JournalRecord } from '@etoken-ca/contract/core/cadb/journal';

export interface CaSnapshot {
  readonly index: ReadonlyMap<string, IndexEntry>;
  readonly records: readonly JournalRecord[];
  /** Serials withheld (maybe signed, never handed out). */
  readonly withheld: ReadonlySet<string>;
  readonly issued: ReadonlySet<string>;
}

function readIndex(caDir: string, problems: string[]): Map<string, IndexEntry> {
  const text = readFileSync(join(caDir, 'index.txt'), 'utf8');
  if (text !== '' && !text.endsWith('\n')) problems.push('index.txt ends with a torn line');
  const index = new Map<string, IndexEntry>();
  for (const line of text.split('\n').filter(Boolean)) {
    const entry = parseIndexLine(line);
    if (!entry) problems.push(`malformed index line ${JSON.stringify(line)}`);
    else if (index.has(entry.serial)) problems.push(`serial ${entry.serial} twice in index.txt`);
    else index.set(entry.serial, entry);
  }
  return index;
}

function readJournal(caDir: string, problems: string[]): JournalRecord[] {
  const dir = join(caDir, 'journal');
  const records: JournalRecord[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.jnl')).sort()) {
    const bytes = readFileSync(join(dir, name));
    const decoded = decodeJournal(bytes);
    if (decoded.validBytes !== bytes.length) problems.push(`journal ${name} has ${bytes.length - decoded.validBytes} torn bytes`);
    records.push(...decoded.records);
  }
  return records;
}

/**
 * Checks a settled CA directory (no request in flight). `answered` maps each
 * serial a client printed to nothing more: it must be a valid, recorded
 * certificate. Returns the problems found (empty: all invariants hold).
 */
export function caProblems(caDir: string, answered: Iterable<string>): { problems: string[]; snapshot: CaSnapshot } {
  const problems: string[] = [];
  const index = readIndex(caDir, problems);
  const records = readJournal(caDir, problems);
  const issued = new Set<string>();
  const withheld = new Set<string>();
  const open = new Map<string, string>();
  const signedFor = new Map<string, number>();
  for (const r of records) {
    switch (r.t) {
      case 'reserve':
        // The same reservation again is a checkpoint carrying it into the next segment.
        if ((open.has(r.serial) && open.get(r.serial) !== r.req) || issued.has(r.serial) || withheld.has(r.serial)) problems.push(`serial ${r.serial} reserved twice`);
        open.set(r.serial, r.req);
        break;
      case 'issue':
      case 'withhold':
        open.delete(r.serial);
        (r.t === 'issue' ? issued : withheld).add(r.serial);
        signedFor.set(r.req, (signedFor.get(r.req) ?? 0) + 1);
        break;
      case 'refuse':
        if (r.serial) open.delete(r.serial);
        break;
      case 'release':
        open.delete(r.serial);
        break;
      default:
        break;
    }
  }
  for (const [serial, req] of open) problems.push(`serial ${serial} of request ${req} reserved and never resolved`);
  for (const [req, count] of signedFor) if (count > 1) problems.push(`request ${req} signed ${count} times`);
  for (const serial of issued) {
    if (withheld.has(serial)) problems.push(`serial ${serial} both issued and withheld`);
    if (!index.has(serial)) problems.push(`issued serial ${serial} missing from index.txt`);
    if (!existsSync(join(caDir, 'newcerts', `${serial}.pem`))) problems.push(`issued serial ${serial} missing from newcerts/`);
  }
  for (const serial of withheld) {
    const entry = index.get(serial);
    if (entry?.status !== 'R' || entry.reason !== 'cessationOfOperation') problems.push(`withheld serial ${serial} is not revoked in index.txt`);
  }
  for (const serial of index.keys()) if (!issued.has(serial) && !withheld.has(serial)) problems.push(`index.txt serial ${serial} not in the journal`);
  for (const serial of answered) {
    if (!issued.has(serial)) problems.push(`answered serial ${serial} not issued in the journal`);
    if (index.get(serial)?.status !== 'V') problems.push(`answered serial ${serial} not valid in index.txt`);
  }
  return { problems, snapshot: { index, records, withheld, issued } };
}
