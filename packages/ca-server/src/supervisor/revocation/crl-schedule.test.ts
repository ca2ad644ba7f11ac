import { describe, expect, it } from 'vitest';
import { crlDue, DAY_MS, msUntilCrlCanBeDated, nextCrlTimes } from './crl-schedule.js';

const T = Date.UTC(2026, 10, 24, 12, 0, 0);
const state = (lastThisUpdate: number, nextUpdate?: number) => ({
  lastNumber: 4,
  lastThisUpdate,
  published: nextUpdate === undefined ? null : { number: 4, thisUpdate: lastThisUpdate, nextUpdate },
});

describe('CRL schedule', () => {
  it('dates a CRL now, in whole seconds, later than the previous one', () => {
    expect(nextCrlTimes(state(T - 5000), T + 700, 30)).toEqual({ thisUpdate: T, nextUpdate: T + 30 * DAY_MS });
  });

  it('waits for the next second instead of future-dating a CRL asked for within the same second', () => {
    expect(msUntilCrlCanBeDated(state(T), T + 300)).toBe(700);
    expect(msUntilCrlCanBeDated(state(T), T + 1000)).toBe(0);
    expect(nextCrlTimes(state(T), T + 1000, 30).thisUpdate).toBe(T + 1000);
  });

  it('is due when nothing is published, the file is gone, or fewer than the reissue days remain', () => {
    expect(crlDue(state(0), T, 7, false)).toBe(true);
    expect(crlDue(state(T, T + 30 * DAY_MS), T, 7, false)).toBe(true);
    expect(crlDue(state(T, T + 30 * DAY_MS), T, 7, true)).toBe(false);
    expect(crlDue(state(T, T + 30 * DAY_MS), T + 24 * DAY_MS, 7, true)).toBe(true);
  });
});
