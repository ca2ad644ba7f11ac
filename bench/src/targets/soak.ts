/**
 * The soak: a million issuances without a restart, then a restart of the
 * real server on what they left. Issuing a million certificates through the
 * server at its rate here (about 1,000 a second, 17 minutes) does not fit
 * the bench's budget, so the issuances drive the server's store directly
 * (soak/soak-child.ts: the same CaStore, records as the supervisor writes
 * them, time simulated at 1,000 a second), in a process of their own. The
 * CA directory is a tmpfs: a million newcerts/ files cost about two minutes
 * to create on this disk, and their flushes at checkpoints several more,
 * and the figures measured here (start-up time and memory) do not depend on
 * where the files are: the restart reads them from the page cache either
 * way. Then the real etoken-ca-server starts on the directory (token login
 * included, as P6): the time to ready and its peak resident memory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeServerFixture, removeFixture, startServer } from '../../../test/helpers/ca-server.js';
import type { TestToken } from '../../../test/helpers/softhsm.js';
import { nowMs } from '../stats.js';
import { residentMb } from '../server/bench-server.js';

const SOAK_CHILD = fileURLToPath(new URL('./soak.js', import.meta.url));
const RATE = 1000;

export interface SoakResult {
  readonly issued: number;
  /** Wall time of the issuances, ms, and their rate through the store alone. */
  readonly issuedMs: number;
  readonly perSecond: number;
  /** Peak resident memory of the issuing process, MB. */
  readonly soakPeakMb: number;
  readonly checkpoints: number;
  readonly segments: number;
  /** Journal bytes on disk after the soak. */
  readonly journalMb: number;
  /** How long after the last (simulated) issuance the server was started, s. */
  readonly restartAfterS: number;
  /** The restarted server: spawn to ready (token logged in), spawn to database loaded, ms. */
  readonly readyMs: number;
  readonly loadedMs: number;
  /** Records it replayed after the last checkpoint. */
  readonly replayed: number;
  /** Its resident memory once ready, now and at its peak, MB. */
  readonly rssMb: number;
  readonly peakMb: number;
}

export async function soak(token: TestToken, issuances: number, say: (what: string) => void): Promise<SoakResult> {
  const fixture = makeServerFixture(token, { CLIENT_TIMEOUT: '60' });
  mkdirSync(fixture.caDir, { mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12g,mode=0700', 'etoken-ca-soak', fixture.caDir]);
  try {
    say(`soak: ${issuances} issuances through the store, time simulated at ${RATE}/s`);
    // The simulated hour ends about when the restart will come (the issuances take a minute or two here).
    const end = Date.now() + 90_000;
    const run = spawnSync(process.execPath, [SOAK_CHILD, fixture.caDir, String(issuances), String(RATE), String(end)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (run.status !== 0) throw new Error(`soak child failed (${run.status}): ${run.stderr}`);
    const child = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { issuedMs: number; perSecond: number; peakMb: number; checkpoints: number; segments: number; simulatedEnd: number };
    const journalBytes = execFileSync('du', ['-sb', join(fixture.caDir, 'journal')], { encoding: 'utf8' }).split('\t')[0]!;
    say(`soak: issued in ${(child.issuedMs / 1000).toFixed(0)} s (${child.perSecond.toFixed(0)}/s), ${child.checkpoints} checkpoints, ${child.segments} segments; restarting the server`);
    const restartAfterS = (Date.now() - child.simulatedEnd) / 1000;
    const start = nowMs();
    const server = await startServer(fixture, token.pin, false);
    try {
      const loaded = await server.waitFor('db.loaded', 1, 60_000);
      const loadedMs = nowMs() - start;
      await server.waitFor('pin.accepted', 1, 60_000);
      const readyMs = nowMs() - start;
      const memory = residentMb(server.child.pid!);
      return {
        issued: issuances,
        issuedMs: child.issuedMs,
        perSecond: child.perSecond,
        soakPeakMb: child.peakMb,
        checkpoints: child.checkpoints,
        segments: child.segments,
        journalMb: Number(journalBytes) / (1024 * 1024),
        restartAfterS,
        readyMs,
        loadedMs,
        replayed: Number(loaded[0]?.replayed ?? Number.NaN),
        rssMb: memory.rss,
        peakMb: memory.peak,
      };
    } finally {
      await server.stop();
    }
  } finally {
    execFileSync('umount', [fixture.caDir]);
    removeFixture(fixture);
  }
}
