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
