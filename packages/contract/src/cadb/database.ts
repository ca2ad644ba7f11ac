/**
 * The CA database held in memory: certificates by serial, request outcomes by
 * request id, CRL numbering. Built from index.txt (as of the last checkpoint)
 * and the journal records after it; every change goes through apply(), so the
 * server, the loader and revoke-cert derive the same state from the same
 * records. Pure: no I/O.
 */
import type { SerialHex } from '../serial.js';
import { formatIndexLine, parseIndexLine, type IndexEntry, type RevocationReason } from './index-line.js';
import type { JournalRecord } from './journal.js';

export interface CertEntry extends IndexEntry {
  /** Signed (or maybe signed) and never handed out. */
  readonly withheld?: boolean;
  readonly req?: string;
}

export type Outcome =
  | { readonly kind: 'issued'; readonly serial: SerialHex; readonly der: string }
  | { readonly kind: 'refused'; readonly exit: number; readonly reason: string }
  | { readonly kind: 'withheld'; readonly serial: SerialHex };

interface Reservation {
  readonly req: string;
  readonly subject: string;
  readonly notAfter: number;
}

export interface CrlState {
  /** Highest CRL number ever reserved (0: none). */
  readonly lastNumber: number;
  /** thisUpdate of the last reserved CRL, ms. */
  readonly lastThisUpdate: number;
  readonly published: { readonly number: number; readonly thisUpdate: number; readonly nextUpdate: number } | null;
}

export class CaDatabase {
  private readonly certs = new Map<SerialHex, CertEntry>();
  private readonly reservations = new Map<SerialHex, Reservation>();
  private readonly outcomes = new Map<string, Outcome>();
  private crl: CrlState = { lastNumber: 0, lastThisUpdate: 0, published: null };

  get size(): number {
    return this.certs.size;
  }

  get crlState(): CrlState {
    return this.crl;
  }

  /** Loads index.txt text; returns the number of lines that were not well-formed. */
  loadIndex(text: string): number {
    let bad = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const entry = parseIndexLine(line);
      if (entry) this.certs.set(entry.serial, entry);
      else bad++;
    }
    return bad;
  }

  setCrlState(state: CrlState): void {
    this.crl = state;
  }

  /** True when the serial is in use or reserved: never to be issued again. */
  hasSerial(serial: SerialHex): boolean {
    return this.certs.has(serial) || this.reservations.has(serial);
  }

  get(serial: SerialHex): CertEntry | undefined {
    return this.certs.get(serial);
  }

  entries(): IterableIterator<CertEntry> {
    return this.certs.values();
  }

  outcome(req: string): Outcome | undefined {
    return this.outcomes.get(req);
  }

  /** Serials reserved and never recorded as issued or withheld: maybe signed, so they must be withheld. */
  uncertain(): { serial: SerialHex; req: string }[] {
    return [...this.reservations].map(([serial, r]) => ({ serial, req: r.req }));
  }

  /** Valid, unexpired certificates of a subject (for MAX_ACTIVE_CERTS). */
  activeFor(subject: string, now: number): CertEntry[] {
    const found: CertEntry[] = [];
    for (const e of this.certs.values()) {
      if (e.subject === subject && e.status === 'V' && e.notAfter > now) found.push(e);
    }
    return found;
  }

  /** Applies one journal record. Returns the entry whose index line changed, if any. */
  apply(record: JournalRecord): CertEntry | undefined {
    switch (record.t) {
      case 'reserve':
        this.reservations.set(record.serial, { req: record.req, subject: record.subject, notAfter: record.notAfter });
        return undefined;
      case 'issue': {
        const r = this.reservations.get(record.serial);
        if (!r) return undefined;
        this.reservations.delete(record.serial);
        const entry: CertEntry = { serial: record.serial, status: 'V', notAfter: r.notAfter, subject: r.subject, req: record.req };
        this.certs.set(record.serial, entry);
        this.outcomes.set(record.req, { kind: 'issued', serial: record.serial, der: record.der });
        return entry;
      }
      case 'withhold': {
        const r = this.reservations.get(record.serial);
        const old = this.certs.get(record.serial);
        const base = old ?? (r && { serial: record.serial, notAfter: r.notAfter, subject: r.subject });
        this.reservations.delete(record.serial);
        this.outcomes.set(record.req, { kind: 'withheld', serial: record.serial });
        if (!base) return undefined;
        const entry: CertEntry = {
          ...base,
          status: 'R',
          revokedAt: record.at,
          reason: 'cessationOfOperation',
          withheld: true,
          req: record.req,
        };
        this.certs.set(record.serial, entry);
        return entry;
      }
      case 'refuse':
        if (record.serial) this.reservations.delete(record.serial);
        this.outcomes.set(record.req, { kind: 'refused', exit: record.exit, reason: record.reason });
        return undefined;
      case 'answer':
        return undefined;
      case 'release':
        this.reservations.delete(record.serial);
        return undefined;
      case 'revoke': {
        const old = this.certs.get(record.serial);
        if (!old || old.status === 'R') return undefined;
        const entry: CertEntry = { ...old, status: 'R', revokedAt: record.at, reason: record.reason };
        this.certs.set(record.serial, entry);
        return entry;
      }
      case 'crl-number':
        this.crl = {
          ...this.crl,
          lastNumber: Math.max(this.crl.lastNumber, record.number),
          lastThisUpdate: Math.max(this.crl.lastThisUpdate, record.thisUpdate),
        };
        return undefined;
      case 'crl-published':
        this.crl = { ...this.crl, published: { number: record.number, thisUpdate: record.thisUpdate, nextUpdate: record.nextUpdate } };
        return undefined;
    }
  }

  /** Forgets request outcomes older than the last checkpoint, to keep memory bounded. */
  forgetOutcomes(): void {
    this.outcomes.clear();
  }

  /** The whole index.txt, in issue order. */
  indexText(): string {
    let text = '';
    for (const e of this.certs.values()) text += formatIndexLine(e);
    return text;
  }

  revokedEntries(): CertEntry[] {
    return [...this.certs.values()].filter((e) => e.status === 'R');
  }
}

export type { RevocationReason };
