/**
 * Notices published requests at once: inotify on incoming/ (fs.watch), plus a
 * full rescan at start-up, on a timer, after a burst and after any watcher
 * error, because inotify can overflow silently (Node drops IN_Q_OVERFLOW).
 *
 * A client writes its request before it publishes the lock, so a lock whose
 * request is not there is no client's: such locks wait in a second lane,
 * handed on a batch at a time when nothing else is pending, and a flood of
 * them costs a genuine request one lstat each, not their whole handling.
 */
import { lstatSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { classifySpoolName, requestFile, type SpoolLayout } from '@etoken-ca/contract/core/spool';

export interface WatcherOptions {
  readonly layout: SpoolLayout;
  readonly rescanMs: number;
  readonly onLock: (id: string) => void;
  /** Called after every full rescan with every name seen, for the sweeper. */
  readonly onRescan: (names: readonly string[]) => void;
  readonly onProblem: (message: string) => void;
}

const BURST_EVENTS = 512;
/** Locks without a request handed on per turn of the event loop. */
const SUSPECT_BATCH = 64;

export class SpoolWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private eventsSinceRescan = 0;
  private rescanSoon: NodeJS.Timeout | null = null;
  private readonly suspects = new Set<string>();
  private drainScheduled = false;

  constructor(private readonly o: WatcherOptions) {}

  start(): void {
    this.watch();
    this.rescan();
    this.timer = setInterval(() => this.rescan(), this.o.rescanMs);
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    if (this.rescanSoon) clearTimeout(this.rescanSoon);
  }

  rescan(): void {
    this.eventsSinceRescan = 0;
    let names: string[];
    try {
      names = readdirSync(this.o.layout.incoming);
    } catch (e) {
      this.o.onProblem(`cannot list ${this.o.layout.incoming}: ${(e as NodeJS.ErrnoException).code}`);
      return;
    }
    for (const name of names) {
      const entry = classifySpoolName(name);
      if (entry?.kind === 'lock') this.lock(entry.id);
    }
    this.o.onRescan(names);
  }

  private watch(): void {
    try {
      this.watcher = watch(this.o.layout.incoming, { persistent: true }, (_event, filename) => this.onEvent(filename));
      this.watcher.on('error', (e) => {
        this.o.onProblem(`spool watcher failed (${e.message}); rescanning and watching again`);
        this.watcher?.close();
        this.watcher = null;
        setTimeout(() => {
          this.watch();
          this.rescan();
        }, 1000).unref();
      });
    } catch (e) {
      this.o.onProblem(`cannot watch the spool (${(e as Error).message}); polling every ${this.o.rescanMs} ms`);
    }
  }

  private onEvent(filename: string | Buffer | null): void {
    if (++this.eventsSinceRescan > BURST_EVENTS && !this.rescanSoon) {
      this.rescanSoon = setTimeout(() => {
        this.rescanSoon = null;
        this.rescan();
      }, 50);
    }
    if (typeof filename !== 'string') return;
    const entry = classifySpoolName(filename);
    if (entry?.kind === 'lock') this.lock(entry.id);
  }

  private lock(id: string): void {
    if (lstatSync(requestFile(this.o.layout, id), { throwIfNoEntry: false })) return this.o.onLock(id);
    this.suspects.add(id);
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => this.drainSuspects());
  }

  /** After the I/O already waiting (genuine locks among it), a batch of suspects; then yields again. */
  private drainSuspects(): void {
    this.drainScheduled = false;
    for (const id of [...this.suspects].slice(0, SUSPECT_BATCH)) {
      this.suspects.delete(id);
      this.o.onLock(id);
    }
    if (this.suspects.size > 0 && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drainSuspects());
    }
  }
}
