/** Waiting for something a test observes to happen, re-checked on each change, with a deadline. */

/** `subscribe` registers a listener for changes and returns its removal. */
export function waitUntil(subscribe: (listener: () => void) => () => void, done: () => boolean, timeoutMs: number, why: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    let unsubscribe = (): void => undefined;
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`${why()} within ${timeoutMs} ms`));
    }, timeoutMs);
    const check = (): void => {
      if (!done()) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    };
    unsubscribe = subscribe(check);
    check();
  });
}

/**
 * For conditions nothing announces (a file removed by a timer, a directory
 * emptied): re-checked every `everyMs` until true, failing after `timeoutMs`
 * with `why()`. A deadline, never a fixed wait.
 */
export async function pollUntil(done: () => boolean, timeoutMs: number, why: () => string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done()) return;
    if (Date.now() > deadline) throw new Error(`${why()} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
