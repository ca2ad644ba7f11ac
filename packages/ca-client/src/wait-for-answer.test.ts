import { describe, expect, it } from 'vitest';
import type { Answer } from '@etoken-ca/contract/core/spool';
import { FakeClock } from './testing/fake-clock.js';
import { FakeSpool } from './testing/fake-spool.js';
import { FALLBACK_POLL_MS, SAFETY_POLL_MS, waitForAnswer } from './wait-for-answer.js';

const ID = 'a'.repeat(32);
const REFUSED: Answer = { status: 'refused', exit: 65, reason: 'no' };

function setup() {
  const spool = new FakeSpool();
  const clock = new FakeClock();
  const stop = new AbortController();
  return { spool, clock, stop };
}

describe('waitForAnswer', () => {
  it('wakes on the watch event for its own answer, and stops watching', async () => {
    const { spool, clock, stop } = setup();
    const wait = waitForAnswer(spool, clock, ID, stop.signal);
    expect(spool.watching).toBe(true);
    spool.answer(ID, REFUSED);
    await expect(wait.answer).resolves.toEqual(REFUSED);
    expect(spool.watching).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it("reads only on events for its own answer, not other clients'", () => {
    const { spool, clock, stop } = setup();
    waitForAnswer(spool, clock, ID, stop.signal);
    spool.notify(`${'b'.repeat(32)}.answer`);
    expect(spool.answerReads).toBe(0);
    spool.notify(null);
    expect(spool.answerReads).toBe(1);
  });

  it('finds an answer that was there before the first event when checked right away', async () => {
    const { spool, clock, stop } = setup();
    const wait = waitForAnswer(spool, clock, ID, stop.signal);
    spool.answer(ID, REFUSED, false);
    wait.checkNow();
    await expect(wait.answer).resolves.toEqual(REFUSED);
  });

  it('still finds an answer whose event was lost, by the slow poll', async () => {
    const { spool, clock, stop } = setup();
    const wait = waitForAnswer(spool, clock, ID, stop.signal);
    spool.answer(ID, REFUSED, false);
    clock.advance(SAFETY_POLL_MS - 1);
    expect(spool.answerReads).toBe(0);
    clock.advance(1);
    await expect(wait.answer).resolves.toEqual(REFUSED);
  });

  it('polls every 100 ms when it cannot watch', async () => {
    const { spool, clock, stop } = setup();
    spool.canWatch = false;
    const wait = waitForAnswer(spool, clock, ID, stop.signal);
    clock.advance(5 * FALLBACK_POLL_MS);
    expect(spool.answerReads).toBe(5);
    spool.answer(ID, REFUSED, false);
    clock.advance(FALLBACK_POLL_MS);
    await expect(wait.answer).resolves.toEqual(REFUSED);
  });

  it('falls back to polling every 100 ms when the watch breaks', () => {
    const { spool, clock, stop } = setup();
    waitForAnswer(spool, clock, ID, stop.signal);
    spool.breakWatch();
    clock.advance(3 * FALLBACK_POLL_MS);
    expect(spool.answerReads).toBe(3);
  });

  it('keeps waiting while the answer is not (yet) a valid one', () => {
    const { spool, clock, stop } = setup();
    let settled = false;
    void waitForAnswer(spool, clock, ID, stop.signal).answer.then(() => (settled = true));
    spool.notify(`${ID}.answer`);
    clock.advance(10 * SAFETY_POLL_MS);
    expect(spool.answerReads).toBe(11);
    return Promise.resolve().then(() => expect(settled).toBe(false));
  });

  it('gives null and releases everything when aborted', async () => {
    const { spool, clock, stop } = setup();
    const wait = waitForAnswer(spool, clock, ID, stop.signal);
    stop.abort();
    await expect(wait.answer).resolves.toBeNull();
    expect(spool.watching).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('takes an answer that came with the deadline instead of giving up on it', async () => {
    const { spool, clock, stop } = setup();
    const wait = waitForAnswer(spool, clock, ID, stop.signal);
    spool.answer(ID, REFUSED, false);
    stop.abort();
    await expect(wait.answer).resolves.toEqual(REFUSED);
    expect(spool.watching).toBe(false);
  });

  it('gives null at once when already aborted', async () => {
    const { spool, clock, stop } = setup();
    stop.abort();
    await expect(waitForAnswer(spool, clock, ID, stop.signal).answer).resolves.toBeNull();
    expect(clock.pending).toBe(0);
  });
});
