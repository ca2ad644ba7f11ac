import { describe, expect, it } from 'vitest';
import { SignQueue, type TokenAvailability, type Turn } from './sign-queue.js';

/** A queue on a hand-driven clock and token. */
function setUp(availability: TokenAvailability = 'ready') {
  let now = 1_000_000;
  const token = { availability };
  const queue = new SignQueue({ now: () => now, availability: () => token.availability });
  return {
    queue,
    token,
    advance: (ms: number) => (now += ms),
    at: () => now,
  };
}

const settled = async (p: Promise<Turn>): Promise<Turn | 'pending'> => Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), 5))]);

async function go(p: Promise<Turn>): Promise<Extract<Turn, { kind: 'go' }>> {
  const turn = await p;
  if (turn.kind !== 'go') throw new Error(`expected a turn, got ${turn.kind}`);
  return turn;
}

describe('SignQueue', () => {
  it('gives a fast token many requests at once, and a slow one about a second of work', async () => {
    const { queue, at } = setUp();
    const turns = Array.from({ length: 24 }, (_, i) => queue.turn(`r${i}`, 1, at() + 60_000));
    const first = await Promise.all(turns.slice(0, 16).map(go));
    expect(await settled(turns[16]!)).toBe('pending');
    // The signer says the token took a quarter of a second: four at a time from now on.
    first[0]!.release(true, 250);
    expect(queue.perRequestMs).toBeCloseTo(263.5);
    for (const t of first.slice(1, 12)) t.release(false);
    expect(await settled(turns[16]!)).toBe('pending');
    first[12]!.release(false);
    expect(await settled(turns[16]!)).toMatchObject({ kind: 'go' });
    expect(await settled(turns[17]!)).toBe('pending');
    first[13]!.release(false);
    expect(await settled(turns[17]!)).toMatchObject({ kind: 'go' });
    expect(await settled(turns[18]!)).toBe('pending');
  });

  it('trusts the token time the signer measured over a late, bunched reading of its answers', async () => {
    const { queue, advance, at } = setUp();
    const [a, b] = await Promise.all([go(queue.turn('a', 1, at() + 60_000)), go(queue.turn('b', 1, at() + 60_000))]);
    advance(900);
    a.release(true, 250);
    b.release(true, 250);
    expect(queue.perRequestMs).toBeCloseTo(263.5);
  });

  it('refuses at once as busy a request that cannot be signed before its deadline, and takes the others', async () => {
    const { queue, advance, at } = setUp();
    const deadline = at() + 2000;
    const t0 = await go(queue.turn('a', 1, deadline));
    advance(250);
    t0.release(true);
    // 250 ms each, two with the token at a time: about eight fit in two seconds.
    const turns = Array.from({ length: 12 }, (_, i) => queue.turn(`b${i}`, 1, at() + 1750));
    const outcomes = await Promise.all(turns.map(settled));
    const busy = outcomes.filter((o) => o !== 'pending' && o.kind === 'busy');
    expect(busy.length).toBe(5);
    expect(busy[0]).toEqual({ kind: 'busy', queued: 7 });
    expect(outcomes.slice(0, 7).every((o) => o === 'pending' || o.kind === 'go')).toBe(true);
  });

  it('refuses waiting requests as soon as the measured rate says they cannot make it, before any token time goes to them', async () => {
    const { queue, advance, at } = setUp();
    // Nothing measured yet: sixteen go to the signer, the rest wait.
    const turns = Array.from({ length: 40 }, (_, i) => queue.turn(`c${i}`, 1, at() + 5000));
    const sent = await Promise.all(turns.slice(0, 16).map(go));
    advance(300);
    sent[0]!.release(true);
    const rest = await Promise.all(turns.slice(16).map(settled));
    // 300 ms a signature, 15 still with the token: none of the waiting ones fits in the 4.7 s left.
    expect(rest.every((o) => o !== 'pending' && o.kind === 'busy')).toBe(true);
  });

  it('lets requests wait while the token is not ready, drops them at their deadline, and refuses them while it is failing', async () => {
    const { queue, token, advance, at } = setUp('not-ready');
    const waiting = queue.turn('w', 1, at() + 1000);
    const leaving = queue.turn('x', 1, at() + 60_000);
    expect(await settled(waiting)).toBe('pending');
    queue.departed('x');
    expect(await leaving).toEqual({ kind: 'gone', why: 'departed' });
    advance(1000);
    queue.wake();
    expect(await waiting).toEqual({ kind: 'gone', why: 'expired' });
    const later = queue.turn('y', 1, at() + 60_000);
    token.availability = 'failing';
    queue.wake();
    expect(await later).toEqual({ kind: 'unavailable' });
    expect(await queue.turn('z', 1, at() + 60_000)).toEqual({ kind: 'unavailable' });
    token.availability = 'ready';
    queue.wake();
    expect(await queue.turn('v', 1, at() + 60_000)).toMatchObject({ kind: 'go' });
  });

  it('refuses what waits, and what comes, once the server is stopping; what was given a turn finishes', async () => {
    const { queue, token, at } = setUp();
    const given = await go(queue.turn('a', 1, at() + 60_000));
    token.availability = 'not-ready';
    const waiting = queue.turn('b', 1, at() + 60_000);
    queue.close();
    expect(await waiting).toEqual({ kind: 'stopping' });
    expect(await queue.turn('c', 1, at() + 60_000)).toEqual({ kind: 'stopping' });
    given.release(true, 250);
  });

  it('puts a request that was taken and not sent back at the head', async () => {
    const { queue, token, at } = setUp();
    const first = await go(queue.turn('p', 1, at() + 60_000));
    token.availability = 'not-ready';
    first.release(false);
    const other = queue.turn('q', 1, at() + 60_000);
    const again = queue.turn('p', 1, at() + 60_000, true);
    token.availability = 'ready';
    queue.wake();
    const order: string[] = [];
    await Promise.all([again.then(() => order.push('p')), other.then(() => order.push('q'))]);
    expect(order).toEqual(['p', 'q']);
  });

  it('serves a second account between the requests of one that floods the queue', async () => {
    const { queue, at } = setUp();
    const warm = await go(queue.turn('warm', 1, at() + 600_000));
    warm.release(true, 250);
    const order: string[] = [];
    const flood = Array.from({ length: 10 }, (_, i) => queue.turn(`f${i}`, 1, at() + 600_000).then((turn) => (order.push(`f${i}`), turn)));
    const other = queue.turn('o0', 2, at() + 600_000).then((turn) => (order.push('o0'), turn));
    // Four with the signer at once; then the flood's next request, then the other account's, then the flood again.
    const sent = await Promise.all(flood.slice(0, 4).map(go));
    expect(order).toEqual(['f0', 'f1', 'f2', 'f3']);
    sent[0]!.release(true, 250);
    sent[1]!.release(true, 250);
    await other;
    expect(order).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'o0']);
    expect(await settled(flood[5]!)).toBe('pending');
    sent[2]!.release(true, 250);
    expect(await settled(flood[5]!)).toMatchObject({ kind: 'go' });
  });
});
