/**
 * The one module that owns signals. The entry file (bin/etoken-ca-server.js)
 * has already installed a SIGUSR1 listener before anything else ran: without
 * one, Node opens its debugger on SIGUSR1. This module takes over from it.
 */
const EARLY = Symbol.for('etoken-ca.early-sigusr1');

interface EarlyState {
  pending: boolean;
  listener: () => void;
}

export interface SignalHandlers {
  /** SIGUSR1: revocation queue nudge (coalesced: many signals, one drain). */
  readonly revocationNudge: () => void;
  /** SIGTERM / SIGINT: graceful stop. */
  readonly stop: (signal: NodeJS.Signals) => void;
}

export function installSignals(handlers: SignalHandlers): void {
  const early = (globalThis as Record<symbol, EarlyState | undefined>)[EARLY];
  process.on('SIGUSR1', handlers.revocationNudge);
  if (early) {
    process.off('SIGUSR1', early.listener);
    if (early.pending) queueMicrotask(handlers.revocationNudge);
  }
  process.on('SIGTERM', () => handlers.stop('SIGTERM'));
  process.on('SIGINT', () => handlers.stop('SIGINT'));
  // A hangup of the PIN console must not kill the CA.
  process.on('SIGHUP', () => undefined);
  process.on('SIGPIPE', () => undefined);
}
