/**
 * A wall clock the test moves, for the server's main process only: libfaketime
 * (Debian package faketime, installed by test/setup.sh) preloaded into the
 * supervisor, reading its offset from a file the test rewrites; read at every
 * call (FAKETIME_NO_CACHE), so a move takes effect at once. Only the real
 * time moves: the monotonic clock behind Node's timers is left alone, so
 * timers keep their real periods (FAKETIME_DONT_FAKE_MONOTONIC). The server
 * starts its workers and hooks with an empty or minimal environment: they
 * keep the real time, like revoke-cert and the test itself.
 *
 * Node 20 reads the time through clock_gettime (Date.now, pino's timestamps),
 * which libfaketime intercepts; file times come from statx without libc's
 * wrappers and stay real.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const LIBRARIES = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1', '/usr/lib/faketime/libfaketimeMT.so.1'];

export const DAY_MS = 86_400_000;

/** The preloadable library, or null when the faketime package is missing. */
export function fakeTimeLibrary(): string | null {
  return LIBRARIES.find((path) => existsSync(path)) ?? null;
}

export interface ServerClock {
  /** For startServer's environment. */
  readonly env: Readonly<Record<string, string>>;
  /** How far the server's clock is ahead of the real one. */
  readonly offsetMs: number;
  /** Puts the server's clock `ms` ahead of the real time (never back: the server's CRL times only go forward). */
  setOffset(ms: number): void;
  /** The server's idea of now. */
  now(): number;
}

/** A clock whose offset file lives in `dir` (the test's own fixture directory: nothing machine-wide). */
export function serverClock(dir: string): ServerClock {
  const library = fakeTimeLibrary();
  if (!library) throw new Error('libfaketime is missing: run test/setup.sh (Debian package faketime)');
  const file = join(dir, 'faketime-offset');
  let offset = 0;
  // Renamed into place: the server reads the file at every clock call and must never see it half written.
  const write = (): void => {
    writeFileSync(`${file}.new`, `+${(offset / 1000).toFixed(3)}\n`, { mode: 0o644 });
    renameSync(`${file}.new`, file);
  };
  write();
  return {
    env: { LD_PRELOAD: library, FAKETIME_TIMESTAMP_FILE: file, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    get offsetMs() {
      return offset;
    },
    setOffset(ms: number) {
      if (ms < offset) throw new Error('the server clock only moves forward');
      offset = ms;
      write();
    },
    now: () => Date.now() + offset,
  };
}
