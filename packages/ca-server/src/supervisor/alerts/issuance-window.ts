/**
 * Issuances within the last window (an hour), counted up to a cap: to know
 * whether the count is above the alert limit, no more than limit + 1
 * timestamps need keeping, whatever the rate. A ring of fixed size.
 */
export class IssuanceWindow {
  private readonly times: Float64Array;
  private start = 0;
  private size = 0;

  constructor(
    private readonly windowMs: number,
    private readonly cap: number,
  ) {
    this.times = new Float64Array(cap);
  }

  record(now: number): void {
    if (this.cap === 0) return;
    if (this.size < this.cap) {
      this.times[(this.start + this.size) % this.cap] = now;
      this.size++;
    } else {
      this.times[this.start] = now;
      this.start = (this.start + 1) % this.cap;
    }
  }

  /** How many fell within the window before `now`, at most the cap. */
  count(now: number): number {
    while (this.size > 0 && this.times[this.start]! <= now - this.windowMs) {
      this.start = (this.start + 1) % this.cap;
      this.size--;
    }
    return this.size;
  }
}
