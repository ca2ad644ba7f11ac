/** Why the client stops before it has an answer: its own deadline, or a signal. Carried as the AbortSignal's reason. */
import type { Clock } from './ports.js';

export type StopReason =
  | { readonly kind: 'timeout'; readonly seconds: number }
  | { readonly kind: 'signal'; readonly signal: string };

export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export function stopBySignal(controller: AbortController, signal: string): void {
  controller.abort({ kind: 'signal', signal } satisfies StopReason);
}

/** Aborts `controller` after `seconds`, well inside MyProxy's own request_timeout. */
export function startDeadline(controller: AbortController, clock: Clock, seconds: number): void {
  const timer = clock.setTimeout(() => controller.abort({ kind: 'timeout', seconds } satisfies StopReason), seconds * 1000);
  controller.signal.addEventListener('abort', () => clock.clear(timer), { once: true });
}

export function stopReason(signal: AbortSignal): StopReason {
  return signal.reason as StopReason;
}
