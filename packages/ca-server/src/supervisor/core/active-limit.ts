/**
 * MAX_ACTIVE_CERTS: how many valid certificates one subject may hold. Past
 * the limit a request is refused, or with REVOKE_ON_REPLACE=yes the
 * subject's oldest certificates are superseded by the new one. Requests of
 * the same subject still being signed count as certificates: their outcome
 * is not known, so they can never be superseded and the limit cannot be
 * raced past by asking twice at once. Pure.
 */
import { ExitCode } from '@etoken-ca/contract/core/exit-codes';

export interface ActiveLimitInput {
  /** 0: no limit. */
  readonly max: number;
  readonly revokeOnReplace: boolean;
  /** Serials of the subject's valid certificates, oldest first. */
  readonly active: readonly string[];
  /** Requests of this subject between this check and their outcome. */
  readonly inFlight: number;
}

export type ActiveLimitDecision =
  | { readonly kind: 'allow'; readonly supersede: readonly string[] }
  | { readonly kind: 'refuse'; readonly exit: number; readonly reason: string };

export function decideActiveLimit(input: ActiveLimitInput): ActiveLimitDecision {
  const { max, active, inFlight } = input;
  if (max === 0) return { kind: 'allow', supersede: [] };
  const excess = active.length + inFlight + 1 - max;
  if (excess <= 0) return { kind: 'allow', supersede: [] };
  if (!input.revokeOnReplace) {
    return { kind: 'refuse', exit: ExitCode.dataError, reason: `subject already has ${max} valid certificate(s)` };
  }
  if (excess > active.length) {
    return { kind: 'refuse', exit: ExitCode.tempFail, reason: 'another certificate for this subject is being issued; try again' };
  }
  return { kind: 'allow', supersede: active.slice(0, excess) };
}
