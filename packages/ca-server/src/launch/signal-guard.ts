/**
 * The first module every Node process of the server evaluates (the
 * supervisor's bin and child-entry.ts import it before anything else): it
 * puts a listener on each signal whose default would hurt. Without a
 * SIGUSR1 listener Node opens its inspector, and whoever connects to it runs
 * code in the process; SIGUSR2 and SIGHUP would end it; SIGPIPE is a write to
 * a closed pipe, which the writer sees as EPIPE anyway. `systemctl kill -s
 * USR1 etoken-ca` sends SIGUSR1 to every process of the unit, workers
 * included. Nothing here imports anything, so no other code runs first.
 */
export const GUARDED_SIGNALS = ['SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGPIPE'] as const;
export type GuardedSignal = (typeof GUARDED_SIGNALS)[number];

const handlers = new Map<GuardedSignal, () => void>();
/** Signals that came before anyone took them over, delivered when someone does. */
const early = new Set<GuardedSignal>();
for (const signal of GUARDED_SIGNALS) {
  process.on(signal, () => {
    const handler = handlers.get(signal);
    if (handler) handler();
    else early.add(signal);
  });
}

/** What a guarded signal does from now on (by default: nothing). The guard's listener stays, so there is never a moment without one. */
export function onGuardedSignal(signal: GuardedSignal, handler: () => void): void {
  handlers.set(signal, handler);
  if (early.delete(signal)) queueMicrotask(handler);
}
