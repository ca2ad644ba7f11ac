/**
 * An etoken-ca-server for the bench: the test fixture on a SoftHSM token,
 * optionally seeded with a large synthetic database first, with its start-up
 * time and resident memory read from the outside.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from '../../../test/helpers/ca-server.js';
import type { TestToken } from '../../../test/helpers/softhsm.js';
import { seedCaDir } from '../db/seed-ca-dir.js';
import type { SyntheticIndex } from '../db/synthetic-index.js';
import { nowMs } from '../stats.js';

const QUIET_MS = 1000;
const SETTLE_LIMIT_MS = 60_000;
const START_LIMIT_MS = 60_000;

export interface BenchServer {
  readonly fixture: ServerFixture;
  readonly server: RunningServer;
  /** Spawn to the token logged in and ready to sign, ms (the PIN comes at once, over --pin-fd). */
  readonly readyMs: number;
  /** Spawn to the database loaded (audit event db.loaded), ms. */
  readonly loadedMs: number;
  stop(): Promise<void>;
}

/** Resident set of a process now and at its peak, in MB. */
export function residentMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Waits until the server has logged nothing for a second: start-up work (a first CRL, say) is over. */
async function settled(server: RunningServer): Promise<void> {
  const limit = nowMs() + SETTLE_LIMIT_MS;
  for (let seen = -1; seen !== server.logs.length && nowMs() < limit; ) {
    seen = server.logs.length;
    await sleep(QUIET_MS);
  }
}

/** A server fixture for `token` with the synthetic database `db` seeded (a number: that many valid certificates); `keys`: more configuration, e.g. another PKCS11_MODULE in front of the token. */
export function benchFixture(token: TestToken, db: number | SyntheticIndex, keys: Record<string, string> = {}): ServerFixture {
  const fixture = makeServerFixture(token, { CLIENT_TIMEOUT: '60', ...keys });
  const seed = typeof db === 'number' ? { entries: db, revoked: 0 } : db;
  if (seed.entries > 0) seedCaDir(fixture.caDir, seed);
  return fixture;
}

/**
 * Starts the server on a fixture made already and waits until it is ready and settled; its stop() leaves the
 * fixture, for a restart on the same directory. `startLimitMs`: how long start-up may take before it counts as
 * failed.
 */
export async function startOnFixture(token: TestToken, fixture: ServerFixture, startLimitMs = START_LIMIT_MS): Promise<BenchServer> {
  const start = nowMs();
  const server = await startServer(fixture, token.pin, false);
  let loadedAt = 0;
  void server.waitFor('db.loaded', 1, startLimitMs).then(() => (loadedAt = nowMs()), () => undefined);
  try {
    await server.waitFor('pin.accepted', 1, startLimitMs);
  } catch (e) {
    // Not ready in time: it must not outlive the bench.
    await server.stop('SIGKILL');
    throw e;
  }
  const readyMs = nowMs() - start;
  await settled(server);
  return {
    fixture,
    server,
    readyMs,
    loadedMs: loadedAt - start,
    stop: async () => void (await server.stop()),
  };
}

/** A server on a fixture of its own (see benchFixture); stop() removes the fixture. */
export async function startBenchServer(token: TestToken, db: number | SyntheticIndex, keys: Record<string, string> = {}): Promise<BenchServer> {
  const fixture = benchFixture(token, db, keys);
  const bench = await startOnFixture(token, fixture);
  return {
    ...bench,
    stop: async () => {
      await bench.stop();
      removeFixture(fixture);
    },
  };
}
