/** Order statistics over repeated measurements: the machine is noisy, so figures are medians and percentiles. */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Runs `once` `runs` times and returns each duration in ms. */
export function timeRuns(runs: number, once: () => void): number[] {
  const durations: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = nowMs();
    once();
    durations.push(nowMs() - start);
  }
  return durations;
}

export async function timeRunsAsync(runs: number, once: () => Promise<unknown>): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = nowMs();
    await once();
    durations.push(nowMs() - start);
  }
  return durations;
}
