/**
 * P10: a revocation as the operator sees it, on a CA database of 1,000,000
 * certificates of which 100,000 revoked, with the real server running on it:
 * from spawning `revoke-cert SERIAL` (waiting, as by default) to its exit
 * once the CRL that lists the certificate is published. A different valid
 * certificate each run; the server is left to finish its work (the
 * index.txt rewrite after each CRL) between runs. Beside it, the original tool's
 * way on a copy of the same database: `openssl ca -revoke`, then
 * `openssl ca -gencrl`, signing on the token through the pkcs11 engine.
 * Where the time goes comes from the server's audit log: until it saw the
 * queue entry (revoke-cert's start, lookup, queue entry), until `crl.issued`,
 * and from there to revoke-cert's exit.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REVOKE_BIN, type AuditRecord } from '../../../test/helpers/ca-server.js';
import type { TestToken } from '../../../test/helpers/softhsm.js';
import { certificateWithSerial, engineKey, opensslRevokeThenGencrlMs } from '../baselines/openssl-ca.js';
import { msUntilCrlCanBeDated } from './crl-builder.js';
import { syntheticSerial, syntheticSubject, syntheticValidLines, type SyntheticIndex } from '../db/synthetic-index.js';
import { startBenchServer, type BenchServer } from '../server/bench-server.js';
import { median, nowMs } from '../stats.js';

const CHECKPOINT_WAIT_MS = 120_000;

export const P10_DATABASE: SyntheticIndex = { entries: 1_000_000, revoked: 100_000 };

export interface RevocationPhases {
  /** Spawn to the server's first revocation.check after it (the queue entry seen, or revoke-cert's SIGUSR1), ms. */
  readonly untilSeenMs: number;
  /** From there to crl.issued: the settle wait SIGUSR1 ends, revoke record, CRL number, signature, publication, checkpoint. */
  readonly drainMs: number;
  /** crl.issued to revoke-cert's exit: the done entry, revoke-cert's wake-up and exit. */
  readonly afterCrlMs: number;
}

export interface RevocationTiming {
  readonly medianMs: number;
  readonly runsMs: readonly number[];
  /** Median of each phase over the runs. */
  readonly phases: RevocationPhases;
  readonly opensslMs: number;
}

function runRevokeCert(configPath: string, serial: string): Promise<{ ms: number; startedAt: number; endedAt: number }> {
  const startedAt = Date.now();
  const start = nowMs();
  const child = spawn(REVOKE_BIN, ['--config', configPath, serial, '--reason', 'keyCompromise'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      const ms = nowMs() - start;
      if (code !== 0 || !output.includes(`revoked: ${serial} in CRL number`)) reject(new Error(`revoke-cert ${serial}: exit ${code}: ${output}`));
      else resolve({ ms, startedAt, endedAt: startedAt + ms });
    }),
  );
}

const timeOf = (record: AuditRecord | undefined): number => Date.parse(String(record?.time));

/**
 * A CRL's thisUpdate (whole seconds) is later than the one before: a revocation within the same second as the
 * last CRL waits for the next second before it is signed. One operator's revocation does not meet that wait; runs
 * spaced about a second apart would, at random. So each run starts once that second has passed.
 */
async function crlClockTicked(bench: BenchServer): Promise<void> {
  const last = bench.server.events('crl.issued').at(-1);
  if (!last) return;
  const wait = msUntilCrlCanBeDated({ lastThisUpdate: Date.parse(String(last.thisUpdate)) }, Date.now());
  if (wait > 0) await sleep(wait + 5);
}

/**
 * `revoke-cert SERIAL` against the running server, timed to its exit, with its phases from the audit log; returns
 * once the index rewrite after the CRL (seconds at a million certificates) is over, so the next step starts clean.
 */
export async function timedRevocation(bench: BenchServer, serial: string): Promise<{ ms: number; phases: RevocationPhases }> {
  await crlClockTicked(bench);
  const checksBefore = bench.server.events('revocation.check').length;
  const checkpointsBefore = bench.server.events('db.checkpoint').length;
  const run = await runRevokeCert(bench.fixture.configPath, serial);
  const seen = bench.server.events('revocation.check')[checksBefore];
  const issued = bench.server.events('crl.issued').at(-1);
  await bench.server.waitFor('db.checkpoint', checkpointsBefore + 1, CHECKPOINT_WAIT_MS);
  return { ms: run.ms, phases: { untilSeenMs: timeOf(seen) - run.startedAt, drainMs: timeOf(issued) - timeOf(seen), afterCrlMs: run.endedAt - timeOf(issued) } };
}

export async function operatorRevocation(dir: string, token: TestToken, runs: number, opensslRuns: number): Promise<RevocationTiming> {
  const spec = P10_DATABASE;
  const serials = syntheticValidLines(spec, runs + opensslRuns);
  const bench = await startBenchServer(token, spec);
  const opensslDir = join(dir, 'p10-openssl');
  mkdirSync(opensslDir, { recursive: true });
  const indexCopy = join(opensslDir, 'index.txt.before');
  copyFileSync(join(bench.fixture.caDir, 'index.txt'), indexCopy);
  const runsMs: number[] = [];
  const phases: RevocationPhases[] = [];
  try {
    for (const n of serials.slice(0, runs)) {
      const run = await timedRevocation(bench, syntheticSerial(n));
      runsMs.push(run.ms);
      phases.push(run.phases);
    }
  } finally {
    await bench.stop();
  }
  const certFiles = serials.slice(runs).map((n) => certificateWithSerial(opensslDir, syntheticSerial(n), syntheticSubject(n)));
  const opensslMs = opensslRevokeThenGencrlMs(opensslDir, engineKey(token), indexCopy, certFiles);
  const phase = (pick: (p: RevocationPhases) => number): number => median(phases.map(pick));
  return {
    medianMs: median(runsMs),
    runsMs,
    phases: { untilSeenMs: phase((p) => p.untilSeenMs), drainMs: phase((p) => p.drainMs), afterCrlMs: phase((p) => p.afterCrlMs) },
    opensslMs,
  };
}
