/**
 * Requests waiting for the token, in arrival order within each account and
 * round-robin across accounts: a front end flooding the spool gets every
 * other turn when another front end has requests waiting, never all of them.
 * With one account it is a plain FIFO.
 */
export interface Fair {
  /** Who asked: the uid that owns the request in the spool. */
  readonly account: number;
}

export class FairQueue<T extends Fair> {
  private readonly lines = new Map<number, T[]>();
  /** Accounts with requests waiting, the next to be served first. */
  private rotation: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    const line = this.lines.get(item.account);
    if (line) line.push(item);
    else {
      this.lines.set(item.account, [item]);
      this.rotation.push(item.account);
    }
    this.count++;
  }

  /** Back at the head of the queue (a request that was taken but could not be sent). */
  unshift(item: T): void {
    const line = this.lines.get(item.account);
    if (line) line.unshift(item);
    else this.lines.set(item.account, [item]);
    this.rotation = [item.account, ...this.rotation.filter((a) => a !== item.account)];
    this.count++;
  }

  shift(): T | undefined {
    const account = this.rotation.shift();
    if (account === undefined) return undefined;
    const line = this.lines.get(account)!;
    const item = line.shift()!;
    if (line.length > 0) this.rotation.push(account);
    else this.lines.delete(account);
    this.count--;
    return item;
  }

  /** Removes the first item that matches; returns it. */
  remove(matches: (item: T) => boolean): T | undefined {
    for (const [account, line] of this.lines) {
      const at = line.findIndex(matches);
      if (at < 0) continue;
      const [item] = line.splice(at, 1);
      if (line.length === 0) {
        this.lines.delete(account);
        this.rotation = this.rotation.filter((a) => a !== account);
      }
      this.count--;
      return item;
    }
    return undefined;
  }

  /** Every item, in the order they will be served. */
  order(): T[] {
    const out: T[] = [];
    const lines = this.rotation.map((account) => this.lines.get(account)!);
    for (let round = 0; out.length < this.count; round++) {
      for (const line of lines) if (round < line.length) out.push(line[round]!);
    }
    return out;
  }

  /** How many items would be served before one more of `account`, pushed now. */
  aheadOfNew(account: number): number {
    const own = this.lines.get(account)?.length ?? 0;
    const at = this.rotation.indexOf(account);
    let ahead = own;
    this.rotation.forEach((other, index) => {
      if (other === account) return;
      const waiting = this.lines.get(other)!.length;
      // Accounts before ours in the rotation are served in our item's round too.
      ahead += Math.min(waiting, at < 0 || index < at ? own + 1 : own);
    });
    return ahead;
  }
}
