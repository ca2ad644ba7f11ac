/**
 * Clears what clients leave behind: locks of dead clients (pid and start
 * time no longer match: a live client is never broken), requests never
 * published, answers whose client is gone, and names no client makes. Runs
 * after every rescan. Only unlink or rmdir: never a path-based chmod/chown or write
 * in the client-writable directory.
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ANSWER_SUFFIX, classifySpoolName, parseLockTarget, requestFile, type SpoolLayout } from '@etoken-ca/contract/core/spool';
import { removeAnswer } from './answers.js';
import { removeSpoolName } from './remove-entry.js';

export interface SweeperPorts {
  readonly ownerAlive: (pid: number, startTime: string, uid: number) => boolean;
  readonly inFlight: (id: string) => boolean;
  readonly now: () => number;
  readonly log: (event: 'request.abandoned' | 'request.unpublished' | 'spool.foreign', details: Record<string, unknown>) => void;
}

export class SpoolSweeper {
  /** When each unpublished request was first seen (mtime is the client's to forge). */
  private readonly firstSeen = new Map<string, number>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly layout: SpoolLayout,
    private readonly graceMs: number,
    private readonly ports: SweeperPorts,
  ) {}

  sweep(incomingNames: readonly string[]): void {
    const names = new Set(incomingNames);
    const liveLocks = new Set<string>();
    for (const name of incomingNames) {
      const entry = classifySpoolName(name);
      const path = join(this.layout.incoming, name);
      if (!entry) {
        this.removeForeign(name, path);
      } else if (entry.kind === 'lock') {
        const lock = this.lockState(path);
        // Gone: the supervisor handled it since the directory was listed, and logged it.
        if (lock === 'gone') continue;
        if (lock === 'alive' || this.ports.inFlight(entry.id)) liveLocks.add(entry.id);
        else {
          this.ports.log('request.abandoned', { req: entry.id, reason: 'client gone; its files removed' });
          removeSpoolName(path);
          removeSpoolName(requestFile(this.layout, entry.id));
          removeAnswer(this.layout, entry.id);
        }
      }
    }
    const now = this.ports.now();
    for (const name of incomingNames) {
      const entry = classifySpoolName(name);
      if (entry?.kind !== 'request' || names.has(`${entry.id}.lock`)) continue;
      const seen = this.firstSeen.get(entry.id) ?? now;
      this.firstSeen.set(entry.id, seen);
      if (now - seen <= this.graceMs) continue;
      if (removeSpoolName(join(this.layout.incoming, name))) {
        this.ports.log('request.unpublished', { req: entry.id, reason: 'request never published; removed' });
        this.firstSeen.delete(entry.id);
      } else if (this.firstReport(name)) {
        this.ports.log('request.unpublished', { req: entry.id, reason: 'request never published; a non-empty directory, left in place' });
      }
    }
    for (const id of this.firstSeen.keys()) if (!names.has(`${id}.req`)) this.firstSeen.delete(id);
    this.sweepAnswers(liveLocks);
  }

  private lockState(path: string): 'alive' | 'dead' | 'gone' {
    try {
      const st = lstatSync(path);
      if (!st.isSymbolicLink()) return 'dead';
      const owner = parseLockTarget(readlinkSync(path));
      return owner !== null && this.ports.ownerAlive(owner.pid, owner.startTime, st.uid) ? 'alive' : 'dead';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'dead';
    }
  }

  private sweepAnswers(liveLocks: ReadonlySet<string>): void {
    let names: string[];
    try {
      names = readdirSync(this.layout.answers);
    } catch {
      return;
    }
    for (const name of names) {
      const id = name.endsWith(ANSWER_SUFFIX) ? name.slice(0, -ANSWER_SUFFIX.length) : null;
      if (id && !liveLocks.has(id) && !this.ports.inFlight(id)) removeAnswer(this.layout, id);
    }
  }

  private removeForeign(name: string, path: string): void {
    if (this.firstReport(name)) this.ports.log('spool.foreign', { name: JSON.stringify(name).slice(1, -1).slice(0, 80) });
    // A non-empty directory stays; it is reported once.
    removeSpoolName(path);
  }

  /** True the first time a name that stays (a non-empty directory) is reported; the memory is bounded. */
  private firstReport(name: string): boolean {
    if (this.reported.has(name)) return false;
    if (this.reported.size >= 10_000) this.reported.clear();
    this.reported.add(name);
    return true;
  }
}
