/**
 * Group commit: callers append records, then wait for a flush that started
 * after their append. One fdatasync covers every record appended while the
 * previous one ran, so requests arriving together share a flush.
 */
export class GroupCommit {
  private waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private flushing = false;
  private idleTasks: Array<() => void> = [];

  constructor(private readonly flush: () => Promise<void>) {}

  /** A flush is running, or callers wait for one. */
  get busy(): boolean {
    return this.flushing || this.waiting.length > 0;
  }

  /** Resolves once everything appended before this call is durable. */
  commit(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.kick();
    });
  }

  /** Runs `task` synchronously at the first moment no flush is running (at once if none is): e.g. to swap the file flushed. */
  whenIdle<T>(task: () => T): Promise<T> {
    return new Promise((resolve, reject) => {
      this.idleTasks.push(() => {
        try {
          resolve(task());
        } catch (e) {
          reject(e as Error);
        }
      });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing) return;
    for (const task of this.idleTasks.splice(0)) task();
    if (this.waiting.length === 0) return;
    this.flushing = true;
    const batch = this.waiting;
    this.waiting = [];
    this.flush().then(
      () => {
        this.flushing = false;
        for (const w of batch) w.resolve();
        this.kick();
      },
      (e: Error) => {
        this.flushing = false;
        for (const w of batch) w.reject(e);
        this.kick();
      },
    );
  }
}
