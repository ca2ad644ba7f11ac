import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair-queue.js';

const item = (account: number, n: number) => ({ account, name: `${account}:${n}` });
const names = (q: FairQueue<ReturnType<typeof item>>): string[] => q.order().map((i) => i.name);

describe('FairQueue', () => {
  it('is a FIFO for one account', () => {
    const q = new FairQueue<ReturnType<typeof item>>();
    for (let n = 0; n < 4; n++) q.push(item(7, n));
    expect(names(q)).toEqual(['7:0', '7:1', '7:2', '7:3']);
    expect(q.aheadOfNew(7)).toBe(4);
    expect(q.shift()?.name).toBe('7:0');
    expect(q.size).toBe(3);
  });

  it('serves an account that floods the queue only every other turn while another one waits', () => {
    const q = new FairQueue<ReturnType<typeof item>>();
    for (let n = 0; n < 50; n++) q.push(item(1, n));
    q.push(item(2, 0));
    q.push(item(2, 1));
    expect(q.aheadOfNew(2)).toBe(5); // 1:0, 2:0, 1:1, 2:1, 1:2 come first
    const served = Array.from({ length: 5 }, () => q.shift()!.name);
    expect(served).toEqual(['1:0', '2:0', '1:1', '2:1', '1:2']);
    expect(q.order().every((i) => i.account === 1)).toBe(true);
  });

  it('counts for a newcomer only one round of each account already waiting', () => {
    const q = new FairQueue<ReturnType<typeof item>>();
    for (let n = 0; n < 30; n++) q.push(item(1, n));
    q.push(item(3, 0));
    expect(q.aheadOfNew(2)).toBe(2);
    q.push(item(2, 0));
    expect(names(q).indexOf('2:0')).toBe(2);
  });

  it('puts a request taken and not sent back at the head, and removes one that left', () => {
    const q = new FairQueue<ReturnType<typeof item>>();
    q.push(item(1, 0));
    q.push(item(2, 0));
    const taken = q.shift()!;
    q.push(item(1, 1));
    q.unshift(taken);
    expect(names(q)).toEqual(['1:0', '2:0', '1:1']);
    expect(q.remove((i) => i.name === '2:0')?.name).toBe('2:0');
    expect(names(q)).toEqual(['1:0', '1:1']);
    expect(q.remove((i) => i.name === 'nope')).toBeUndefined();
    expect(q.size).toBe(2);
  });
});
