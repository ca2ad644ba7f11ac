/**
 * Notices queued revocations: inotify on the queue directory (fs.watch),
 * plus a rescan timer, since inotify can overflow silently or be
 * unavailable. SIGUSR1 from revoke-cert is a third nudge; all of them just
 * call onNudge, which coalesces.
 */
import { watch, type FSWatcher } from 'node:fs';
import { queueIdOf } from '@etoken-ca/contract/core/revocation-queue';

export interface QueueWatcherOptions {
  readonly dir: string;
  readonly rescanMs: number;
  readonly onNudge: (why: string) => void;
  readonly onProblem: (message: string) => void;
}

export class QueueWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: QueueWatcherOptions) {}

  start(): void {
    this.watch();
    this.timer = setInterval(() => this.o.onNudge('rescan'), this.o.rescanMs);
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearInterval(this.timer);
  }

  private watch(): void {
    try {
      this.watcher = watch(this.o.dir, { persistent: false }, (_event, name) => {
        if (typeof name !== 'string' || queueIdOf(name) !== null) this.o.onNudge('queue');
      });
      this.watcher.on('error', (e) => {
        this.o.onProblem(`revocation queue watcher failed (${e.message}); rescanning every ${this.o.rescanMs} ms`);
        this.watcher?.close();
        this.watcher = null;
      });
    } catch (e) {
      this.o.onProblem(`cannot watch the revocation queue (${(e as Error).message}); rescanning every ${this.o.rescanMs} ms`);
    }
  }
}
