/**
 * P8 and P9: the server on a token as slow as a smart card (the smart-card
 * test module, 250 ms per signature, one at a time), against the module's
 * own signature rate measured in the same run. P8: 8 streams keep the token
 * busy, so the throughput is the token's, less the moments it idles while
 * work waits. P9: one client alone waits for one signature and the
 * product's own path around it.
 */
import type { LoadResult } from '../load/load-protocol.js';
import { runLoad } from '../load/run-load.js';
import type { BenchServer } from '../server/bench-server.js';
import { median, percentile } from '../stats.js';

export interface SlowToken {
  /** The module's own signatures per second, and the time of one, ms. */
  readonly moduleRate: number;
  readonly signatureMs: number;
  /** P9: one stream. */
  readonly latency: { readonly p50: number; readonly p99: number; readonly samples: number };
  /** P8: certificates per second with 8 streams. */
  readonly rate: number;
  readonly streams: number;
}

const rateOf = (result: LoadResult): number => (result.latenciesMs.length * 1000) / result.wallMs;

export async function slowTokenFigures(server: BenchServer, requestFile: string, moduleRate: number): Promise<SlowToken> {
  const spoolDir = server.fixture.spoolDir;
  // P9 first, on an idle server: one request at a time.
  const alone = await runLoad({ spoolDir, requestFile, streams: 1, perStream: 20 });
  const streams = 8;
  const busy = await runLoad({ spoolDir, requestFile, streams, perStream: 8 });
  return {
    moduleRate,
    signatureMs: 1000 / moduleRate,
    latency: { p50: median(alone.latenciesMs), p99: percentile(alone.latenciesMs, 99), samples: alone.latenciesMs.length },
    rate: rateOf(busy),
    streams,
  };
}
