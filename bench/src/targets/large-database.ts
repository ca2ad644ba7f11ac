/**
 * P6 at ten million certificates: a CA directory seeded once with
 * 10,000,000 entries, 9,900,000 of them expired and 50,000 of the others
 * revoked, and the real server started on it twice. The first start finds
 * the directory as an upgrade would (reported, no target); a SIGTERM stops
 * it, which checkpoints. The second start is P6: its time to ready and its
 * peak resident memory. On that server then, first the first CRL after
 * start-up (revoke-cert of one valid certificate, as P10 runs it; the
 * server's part, from the queue entry seen to the CRL published, against
 * P4's limit), then the cost per certificate against a server on an empty
 * database, as P3 compares them.
 */
import { removeFixture } from '../../../test/helpers/ca-server.js';
import type { TestToken } from '../../../test/helpers/softhsm.js';
import { syntheticSerial, syntheticValidLines, type SyntheticIndex } from '../db/synthetic-index.js';
import { benchFixture, residentMb, startBenchServer, startOnFixture, type BenchServer } from '../server/bench-server.js';
import { nowMs } from '../stats.js';
import { SCALE_LOAD, throughput, warmUp, WARM_UP_LOAD, type Throughput } from './issuance.js';
import { timedRevocation, type RevocationPhases } from './revocation.js';

export const P6_LARGE_DATABASE: SyntheticIndex = { entries: 10_000_000, expired: 9_900_000, revoked: 50_000 };
/** A server that holds every row takes tens of seconds to start at this size; past this, start-up has failed. */
const START_LIMIT_MS = 300_000;

export interface ServerStart {
  /** Spawn to ready (token logged in), spawn to database loaded, ms. */
  readonly readyMs: number;
  readonly loadedMs: number;
  /** Journal records replayed at start-up: none after a clean stop. */
  readonly replayed: number;
  /** Resident memory once start-up has settled, now and at its peak, MB. */
  readonly rssMb: number;
  readonly peakMb: number;
}

export interface LargeDatabaseFigures {
  readonly database: SyntheticIndex;
  readonly seedMs: number;
  /** On the directory as seeded: the first start after an upgrade. Then SIGTERM to exit, ms. */
  readonly firstStart: ServerStart & { readonly stopMs: number };
  /** P6. */
  readonly secondStart: ServerStart;
  /** The first CRL after the second start: revoke-cert to its exit, and its phases (drainMs: the server's part). */
  readonly firstCrl: { readonly revokeCertMs: number; readonly phases: RevocationPhases };
  /** Cost per certificate on the second server and on an empty database, and their warm-up issuances. */
  readonly issuance: { readonly empty: Throughput; readonly large: Throughput; readonly warmUpIssued: { readonly empty: number; readonly large: number } };
  /** The second server's peak resident memory after all of that, MB. */
  readonly peakAfterMb: number;
  /** Seeding, both starts and everything measured, ms. */
  readonly totalMs: number;
}

function startFigures(bench: BenchServer): ServerStart {
  const memory = residentMb(bench.server.child.pid!);
  const replayed = Number(bench.server.events('db.loaded')[0]?.replayed ?? Number.NaN);
  return { readyMs: bench.readyMs, loadedMs: bench.loadedMs, replayed, rssMb: memory.rss, peakMb: memory.peak };
}

export async function largeDatabase(token: TestToken, requestFile: string, say: (what: string) => void): Promise<LargeDatabaseFigures> {
  const spec = P6_LARGE_DATABASE;
  const began = nowMs();
  say(`P6 at 10M: seeding a CA directory with ${spec.entries} certificates, ${spec.expired} expired, ${spec.revoked} revoked`);
  const fixture = benchFixture(token, spec);
  const seedMs = nowMs() - began;
  const servers: BenchServer[] = [];
  try {
    say(`P6 at 10M: seeded in ${(seedMs / 1000).toFixed(1)} s; first start (as after an upgrade)`);
    const first = await startOnFixture(token, fixture, START_LIMIT_MS);
    servers.push(first);
    const firstStart = startFigures(first);
    const stopping = nowMs();
    const exitCode = await first.server.stop();
    if (exitCode !== 0) throw new Error(`the first server's stop exited ${exitCode}: ${first.server.stderr.join('')}`);
    const stopMs = nowMs() - stopping;
    say(`P6 at 10M: first start ready in ${(firstStart.readyMs / 1000).toFixed(1)} s, peak RSS ${firstStart.peakMb.toFixed(0)} MB, stopped in ${(stopMs / 1000).toFixed(1)} s; second start`);
    const second = await startOnFixture(token, fixture, START_LIMIT_MS);
    servers.push(second);
    const secondStart = startFigures(second);
    say(`P6 at 10M: second start ready in ${(secondStart.readyMs / 1000).toFixed(1)} s, peak RSS ${secondStart.peakMb.toFixed(0)} MB; the first CRL (revoke-cert)`);
    const crl = await timedRevocation(second, syntheticSerial(syntheticValidLines(spec, 1)[0]!));
    say('P6 at 10M: cost per certificate against an empty database (warm-up, then alternating rounds)');
    const empty = await startBenchServer(token, 0);
    servers.push(empty);
    const [warmUpEmpty, warmUpLarge] = await warmUp([empty, second], requestFile, WARM_UP_LOAD.streams, WARM_UP_LOAD.perStream);
    const [atEmpty, atLarge] = await throughput([empty, second], requestFile, SCALE_LOAD.streams, SCALE_LOAD.perStream, SCALE_LOAD.rounds);
    return {
      database: spec,
      seedMs,
      firstStart: { ...firstStart, stopMs },
      secondStart,
      firstCrl: { revokeCertMs: crl.ms, phases: crl.phases },
      issuance: { empty: atEmpty!, large: atLarge!, warmUpIssued: { empty: warmUpEmpty!, large: warmUpLarge! } },
      peakAfterMb: residentMb(second.server.child.pid!).peak,
      totalMs: nowMs() - began,
    };
  } finally {
    for (const server of servers) await server.stop();
    removeFixture(fixture);
  }
}

/** The figures in one line, the first start's among them (it has no target). */
export function describeLargeDatabase(f: LargeDatabaseFigures): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  return (
    `P6 at 10M (${s(f.totalMs)} in all, seeding ${s(f.seedMs)}): first start after an upgrade ready in ${s(f.firstStart.readyMs)}, ` +
    `peak RSS ${f.firstStart.peakMb.toFixed(0)} MB, stopped in ${s(f.firstStart.stopMs)}; second start ${s(f.secondStart.readyMs)}, ` +
    `${f.secondStart.peakMb.toFixed(0)} MB; first CRL: revoke-cert ${f.firstCrl.revokeCertMs.toFixed(0)} ms, the server's part ` +
    `${f.firstCrl.phases.drainMs.toFixed(0)} ms; ${f.issuance.large.costMs.toFixed(2)} ms/cert against ${f.issuance.empty.costMs.toFixed(2)} on an empty database\n`
  );
}
