import { describe, expect, it } from 'vitest';
import { formatScepOrder, MAX_CHALLENGES_PER_ORDER, parseScepOrder, parseScepOrderDone } from './scep-orders.js';

const base = { id: 'a'.repeat(32), by: 'root', uid: 0, requestedAt: 1 };
const hash = (i: number): string => i.toString(16).padStart(64, '0');
const challenge = (hashes: unknown) => JSON.stringify({ ...base, kind: 'challenge', hashes, subject: '/DC=org/DC=example/CN=*', expires: 2 });

describe('SCEP operator orders', () => {
  it('a challenge order carries one hash or a fleet of them, and round-trips with its result', () => {
    const fleet = Array.from({ length: MAX_CHALLENGES_PER_ORDER }, (_, i) => hash(i));
    for (const hashes of [[hash(1)], fleet]) {
      const order = parseScepOrder(challenge(hashes));
      expect(order).toMatchObject({ kind: 'challenge', hashes });
      const done = { ...order!, result: { ok: true, message: 'recorded' }, doneAt: 3 };
      expect(parseScepOrderDone(formatScepOrder(done))).toEqual(done);
    }
  });

  it('refuses no hash, too many, a malformed one, and the single-hash form', () => {
    for (const hashes of [[], [...Array.from({ length: MAX_CHALLENGES_PER_ORDER + 1 }, (_, i) => hash(i))], [hash(1), 'not a hash'], [hash(0xabc).toUpperCase()], hash(1)]) {
      expect(parseScepOrder(challenge(hashes))).toBeNull();
    }
    expect(parseScepOrder(JSON.stringify({ ...base, kind: 'challenge', hash: hash(1), subject: '/CN=x', expires: 2 }))).toBeNull();
  });
});
