/** A clock the test moves by hand: timers fire in order as `advance` passes their time. */
import type { Clock } from '../ports.js';

interface Timer {
  at: number;
  readonly every: number | null;
  readonly callback: () => void;
}

export class FakeClock implements Clock {
  now = 0;
  private readonly timers = new Map<number, Timer>();
  private nextId = 1;

  setTimeout(callback: () => void, ms: number): number {
    return this.add({ at: this.now + ms, every: null, callback });
  }

  setInterval(callback: () => void, ms: number): number {
    return this.add({ at: this.now + ms, every: ms, callback });
  }

  clear(timer: unknown): void {
    this.timers.delete(timer as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (let next = this.earliest(end); next; next = this.earliest(end)) {
      const [id, timer] = next;
      this.now = timer.at;
      if (timer.every === null) this.timers.delete(id);
      else timer.at += timer.every;
      timer.callback();
    }
    this.now = end;
  }

  private add(timer: Timer): number {
    const id = this.nextId++;
    this.timers.set(id, timer);
    return id;
  }

  private earliest(end: number): [number, Timer] | undefined {
    let found: [number, Timer] | undefined;
    for (const entry of this.timers) if (entry[1].at <= end && (!found || entry[1].at < found[1].at)) found = entry;
    return found;
  }
}
