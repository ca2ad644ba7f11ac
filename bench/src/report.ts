/** The verdict: each figure beside its baseline from the same run, the ratio and the target; results.json and a table. */
import { writeFileSync } from 'node:fs';

export interface Verdict {
  readonly id: string;
  readonly what: string;
  readonly figure: number;
  readonly unit: string;
  readonly baselineName: string;
  readonly baseline: number;
  /** figure / baseline, or the reverse where the target is a speed-up: as the target states it. */
  readonly ratio: number;
  readonly target: string;
  readonly pass: boolean;
}

const fmt = (n: number): string => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));

export function printTable(verdicts: readonly Verdict[]): void {
  const rows = [
    ['', 'figure', 'baseline (same run)', 'ratio', 'target', ''],
    ...verdicts.map((v) => [v.id, `${v.what} ${fmt(v.figure)} ${v.unit}`, `${v.baselineName} ${fmt(v.baseline)}`, fmt(v.ratio), v.target, v.pass ? 'ok' : 'MISSED']),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()}\n`);
}

/** The run's `say`: a progress line on stderr with the seconds since this call. */
export function progressLog(): (what: string) => void {
  const began = Date.now();
  return (what) => void process.stderr.write(`bench: [${((Date.now() - began) / 1000).toFixed(0).padStart(3)} s] ${what}\n`);
}

export function writeResults(path: string, baselines: object, figures: object, verdicts: readonly Verdict[]): void {
  const results = { when: new Date().toISOString(), baselines, figures, verdicts };
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
