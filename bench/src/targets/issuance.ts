/**
 * P1 latency, P2 throughput and P3 scale, against servers already running:
 * rounds alternate between the servers so that the machine's drift hits
 * both alike, and each figure is a median over rounds.
 */
import { runLoad } from '../load/run-load.js';
import type { BenchServer } from '../server/bench-server.js';
import { median, percentile } from '../stats.js';

export interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
}

export interface Throughput {
  /** Median certificates per second over rounds. */
  readonly rate: number;
  /** Median wall time per certificate, ms. */
  readonly costMs: number;
}

/**
 * Uncounted issuances on each server before anything is measured: the server runs for months, and
 * its first thousand or so requests after start-up run before V8 has compiled their path (about a
 * quarter slower here).
 */
export async function warmUp(servers: readonly BenchServer[], requestFile: string, streams: number, perStream: number): Promise<void> {
  for (const server of servers) await runLoad({ spoolDir: server.fixture.spoolDir, requestFile, streams, perStream });
}

/** One stream, one request at a time: end-to-end latency from writing the request to reading the answer. */
export async function latency(server: BenchServer, requestFile: string, rounds: number, perRound: number): Promise<Latency> {
  const all: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const result = await runLoad({ spoolDir: server.fixture.spoolDir, requestFile, streams: 1, perStream: perRound });
    all.push(...result.latenciesMs);
  }
  return { p50: median(all), p99: percentile(all, 99), samples: all.length };
}

/** `streams` concurrent request streams on each server, alternating, `rounds` times. */
export async function throughput(servers: readonly BenchServer[], requestFile: string, streams: number, perStream: number, rounds: number): Promise<Throughput[]> {
  const rates: number[][] = servers.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [i, server] of servers.entries()) {
      const result = await runLoad({ spoolDir: server.fixture.spoolDir, requestFile, streams, perStream });
      rates[i]!.push((result.latenciesMs.length * 1000) / result.wallMs);
    }
  }
  return rates.map((list) => ({ rate: median(list), costMs: 1000 / median(list) }));
}
