/**
 * P1 latency, P2 throughput and P3 scale, against servers already running:
 * rounds alternate between the servers so that the machine's drift hits
 * both alike, and each figure is a median over rounds.
 */
import type { LoadResult } from '../load/load-protocol.js';
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

/** The warm-up's rounds (see warmUp). */
export const WARM_UP_LOAD = { streams: 8, perStream: 250 } as const;
/** P3's comparison of servers: rounds of 8 streams of 100 issuances, 5 on each server, alternating (see throughput). */
export const SCALE_LOAD = { streams: 8, perStream: 100, rounds: 5 } as const;

/** Certificates per second over one load run. */
const rateOf = (result: LoadResult): number => (result.latenciesMs.length * 1000) / result.wallMs;

/** Warm-up rounds stop once a round's rate is within this fraction of the round before. */
const SETTLED = 0.05;
const MAX_WARM_UP_ROUNDS = 8;

/**
 * Uncounted rounds of `streams` x `perStream` issuances on each server until its rate settles (two
 * rounds in a row within 5%), before anything is measured: the server runs for months, and a fresh
 * one runs its first few thousand requests slower (V8 has not compiled their path yet, and creating
 * files in fresh spool and newcerts/ directories costs more system time at first). Returns the
 * number of warm-up issuances per server.
 */
export async function warmUp(servers: readonly BenchServer[], requestFile: string, streams: number, perStream: number): Promise<number[]> {
  const issued: number[] = [];
  for (const server of servers) {
    let previous = 0;
    let count = 0;
    for (let round = 0; round < MAX_WARM_UP_ROUNDS; round++) {
      const result = await runLoad({ spoolDir: server.fixture.spoolDir, requestFile, streams, perStream });
      count += result.latenciesMs.length;
      const rate = rateOf(result);
      if (Math.abs(rate - previous) <= SETTLED * previous) break;
      previous = rate;
    }
    issued.push(count);
  }
  return issued;
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
      rates[i]!.push(rateOf(result));
    }
  }
  return rates.map((list) => ({ rate: median(list), costMs: 1000 / median(list) }));
}
