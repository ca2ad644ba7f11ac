/**
 * The supervisor's signals, in one place. The signal guard (launch/
 * signal-guard.ts, the first module its bin evaluates) has had a listener on
 * SIGUSR1, SIGUSR2, SIGHUP and SIGPIPE from the start; this gives SIGUSR1 its
 * meaning (process the revocation queue) and leaves the others ignored: a
 * hangup of the PIN console, or an operator's stray SIGUSR2, must not end
 * the CA.
 */
import { onGuardedSignal } from '../launch/signal-guard.js';

export interface SignalHandlers {
  /** SIGUSR1: revocation queue nudge (coalesced: many signals, one drain). */
  readonly revocationNudge: () => void;
  /** SIGTERM / SIGINT: graceful stop. */
  readonly stop: (signal: NodeJS.Signals) => void;
}

export function installSignals(handlers: SignalHandlers): void {
  onGuardedSignal('SIGUSR1', handlers.revocationNudge);
  process.on('SIGTERM', () => handlers.stop('SIGTERM'));
  process.on('SIGINT', () => handlers.stop('SIGINT'));
}
