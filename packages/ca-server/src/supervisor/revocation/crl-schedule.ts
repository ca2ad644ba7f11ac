/** When a CRL is due and what its times are. Pure. */
import type { CrlState } from '@etoken-ca/contract/core/cadb/database';

export const DAY_MS = 86_400_000;

export interface CrlTimes {
  readonly thisUpdate: number;
  readonly nextUpdate: number;
}

/** Whole seconds, strictly later than the previous CRL's thisUpdate (even if the clock went back). */
export function nextCrlTimes(state: CrlState, now: number, crlDays: number): CrlTimes {
  const thisUpdate = Math.max(Math.floor(now / 1000) * 1000, Math.floor(state.lastThisUpdate / 1000) * 1000 + 1000);
  return { thisUpdate, nextUpdate: thisUpdate + crlDays * DAY_MS };
}

/**
 * How long to wait before signing so that thisUpdate is both later than the
 * previous CRL's and not in the future: CRLs asked for within one second are
 * never future-dated (relying parties would call them "not yet valid").
 */
export function msUntilCrlCanBeDated(state: Pick<CrlState, 'lastThisUpdate'>, now: number): number {
  return Math.max(0, Math.floor(state.lastThisUpdate / 1000) * 1000 + 1000 - now);
}

/** A new CRL is due when none is published (or its file is gone) or fewer than `reissueDays` remain. */
export function crlDue(state: CrlState, now: number, reissueDays: number, publishedFilePresent: boolean): boolean {
  if (!state.published || !publishedFilePresent) return true;
  return state.published.nextUpdate - now < reissueDays * DAY_MS;
}
