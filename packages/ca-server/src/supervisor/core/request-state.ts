/**
 * The life of one request, all transitions in one place. The durable form is
 * the journal (reserve, issue, refuse, withhold, answer records); this table
 * keeps the supervisor from taking a step out of order.
 */
export type RequestState = 'received' | 'validated' | 'signed' | 'recorded' | 'answered' | 'refused' | 'withheld';

const NEXT: Readonly<Record<RequestState, readonly RequestState[]>> = {
  received: ['validated', 'refused'],
  validated: ['signed', 'refused', 'withheld'],
  signed: ['recorded', 'withheld'],
  recorded: ['answered'],
  answered: [],
  refused: [],
  withheld: [],
};

export function isFinal(state: RequestState): boolean {
  return NEXT[state].length === 0;
}

export class RequestTracker {
  private readonly states = new Map<string, RequestState>();

  has(id: string): boolean {
    return this.states.has(id);
  }

  get size(): number {
    return this.states.size;
  }

  begin(id: string): void {
    if (this.states.has(id)) throw new Error(`request ${id} is already in progress`);
    this.states.set(id, 'received');
  }

  /** Moves a request on; a final state ends its tracking. */
  advance(id: string, to: RequestState): void {
    const from = this.states.get(id);
    if (!from || !NEXT[from].includes(to)) throw new Error(`request ${id}: no transition ${from ?? 'none'} -> ${to}`);
    if (isFinal(to)) this.states.delete(id);
    else this.states.set(id, to);
  }

  /** Ends tracking of a request that was dropped (its client gave up before any signature). */
  drop(id: string): void {
    this.states.delete(id);
  }
}
