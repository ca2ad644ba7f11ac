/**
 * A write to the CA database that did not happen: the operation that needed
 * it fails before anything is answered, and what a client is told says
 * whether to come back (exit 75 either way).
 */
export type StoreProblem =
  /** ENOSPC or EDQUOT, or free space below the reserve. */
  | 'disk-full'
  /** Any other failed write or flush (EIO, a short write whose error was lost). */
  | 'write-failed'
  /** The journal could not be brought back to a known state after a failure: issuance stopped. */
  | 'unavailable'
  /** As many request outcomes held as the store keeps (StoreSettings.maxOutcomes): new requests wait for the oldest to go. */
  | 'busy';

const CLIENT_REASON: Readonly<Record<StoreProblem, string>> = {
  'disk-full': 'CA disk full; try again later',
  'write-failed': 'CA database write failed; try again later',
  unavailable: 'CA database unavailable; try again later',
  busy: 'CA busy, too many requests in the last minutes; try again later',
};

export class StoreError extends Error {
  constructor(
    readonly problem: StoreProblem,
    message: string,
    /** The errno name, when a system call failed. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }

  /** The one line a refused client gets. */
  get clientReason(): string {
    return CLIENT_REASON[this.problem];
  }
}

/** ENOSPC, or EDQUOT (which Node 20 reports as UNKNOWN, errno -122). */
export function isDiskFull(e: unknown): boolean {
  const error = e as NodeJS.ErrnoException;
  return error?.code === 'ENOSPC' || error?.code === 'EDQUOT' || error?.errno === -122;
}

/** A failed system call on `what` as a StoreError (a StoreError stays as it is). */
export function storeError(e: unknown, what: string): StoreError {
  if (e instanceof StoreError) return e;
  const error = e as NodeJS.ErrnoException;
  const code = error?.code ?? 'EIO';
  return new StoreError(isDiskFull(e) ? 'disk-full' : 'write-failed', `${what}: ${error?.message ?? String(e)}`, code);
}
