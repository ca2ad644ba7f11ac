/**
 * Every CRL a server published, collected by a test as it goes (after each
 * kill, before the restart, and after each round), checked against the
 * journal's CRL number reservations. A reused CRL number shows here: two
 * different CRLs seen under one number (the numbered file overwritten after a
 * restart), a number reserved twice, a CRL whose number was never reserved or
 * whose thisUpdate is not its reservation's, a file named for another number.
 * CRL_DIR must keep every copy (a large CRL_KEEP) for nothing to go unseen.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJournal, type JournalRecord } from '@etoken-ca/contract/core/cadb/journal';

interface SeenCrl {
  readonly sha256: string;
  /** thisUpdate as the CRL carries it, in ms (whole seconds). */
  readonly thisUpdate: number;
  readonly file: string;
}

type NumberRecord = Extract<JournalRecord, { t: 'crl-number' }>;
type PublishedRecord = Extract<JournalRecord, { t: 'crl-published' }>;

function journalRecords(caDir: string): JournalRecord[] {
  const dir = join(caDir, 'journal');
  return readdirSync(dir)
    .filter((n) => n.endsWith('.jnl'))
    .sort()
    .flatMap((name) => decodeJournal(readFileSync(join(dir, name))).records);
}

/** The CRL number and thisUpdate a CRL file carries, as openssl reads them. */
function crlFields(path: string): { number: number; thisUpdate: number } {
  const text = execFileSync('openssl', ['crl', '-in', path, '-noout', '-crlnumber', '-lastupdate', '-dateopt', 'iso_8601'], { encoding: 'utf8' });
  const hex = /crlNumber=(?:0x)?([0-9A-Fa-f]+)/.exec(text)?.[1];
  const last = /lastUpdate=(\S+ \S+)/.exec(text)?.[1];
  if (!hex || !last) throw new Error(`cannot read ${path}: ${text}`);
  return { number: Number.parseInt(hex, 16), thisUpdate: Date.parse(last.replace(' ', 'T')) };
}

export class CrlHistory {
  private readonly seen = new Map<number, SeenCrl>();
  private readonly found: string[] = [];

  constructor(private readonly crlDir: string) {}

  /** Reads every numbered PEM copy in CRL_DIR now; a number seen before with other contents is a reuse. */
  collect(when: string): void {
    for (const name of readdirSync(this.crlDir)) {
      const m = /^crl-(\d+)\.pem$/.exec(name);
      if (!m) continue;
      const file = join(this.crlDir, name);
      const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
      const { number, thisUpdate } = crlFields(file);
      if (number !== Number(m[1])) this.found.push(`${name} (${when}) carries CRL number ${number}`);
      const before = this.seen.get(number);
      if (before === undefined) this.seen.set(number, { sha256, thisUpdate, file: `${name} (${when})` });
      else if (before.sha256 !== sha256) this.found.push(`CRL number ${number} published twice: ${before.file} and ${name} (${when}) differ`);
    }
  }

  get numbers(): number[] {
    return [...this.seen.keys()].sort((a, b) => a - b);
  }

  /** What is wrong with the CRLs seen so far and the journal of `caDir`; empty when every number was used once. */
  problems(caDir: string): string[] {
    const problems = [...this.found];
    const records = journalRecords(caDir);
    const reserved = new Map<number, NumberRecord>();
    let last = 0;
    for (const r of records.filter((x): x is NumberRecord => x.t === 'crl-number')) {
      if (reserved.has(r.number)) problems.push(`CRL number ${r.number} reserved twice in the journal`);
      if (r.number <= last) problems.push(`CRL number ${r.number} reserved after ${last}`);
      reserved.set(r.number, r);
      last = Math.max(last, r.number);
    }
    let lastPublished = 0;
    for (const p of records.filter((x): x is PublishedRecord => x.t === 'crl-published')) {
      const r = reserved.get(p.number);
      if (!r) problems.push(`CRL ${p.number} recorded published without a reservation`);
      else if (r.thisUpdate !== p.thisUpdate) problems.push(`CRL ${p.number} published with thisUpdate ${p.thisUpdate}, reserved with ${r.thisUpdate}`);
      if (p.number <= lastPublished) problems.push(`CRL ${p.number} recorded published after ${lastPublished}`);
      lastPublished = Math.max(lastPublished, p.number);
    }
    for (const [number, crl] of this.seen) {
      const r = reserved.get(number);
      if (!r) problems.push(`CRL number ${number} (${crl.file}) was never reserved in the journal`);
      else if (r.thisUpdate !== crl.thisUpdate) problems.push(`CRL number ${number} (${crl.file}) has thisUpdate ${new Date(crl.thisUpdate).toISOString()}, its reservation ${new Date(r.thisUpdate).toISOString()}`);
    }
    return problems;
  }
}
