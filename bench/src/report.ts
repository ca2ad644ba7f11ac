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
  /** Why a target has no figure in this run: counted as missed. */
  readonly notMeasured?: string;
}

const fmt = (n: number): string => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2));

export function printTable(verdicts: readonly Verdict[]): void {
  const rows = [
    ['', 'figure', 'baseline (same run)', 'ratio', 'target', ''],
    ...verdicts.map((v) =>
      v.notMeasured === undefined
        ? [v.id, `${v.what} ${fmt(v.figure)} ${v.unit}`, `${v.baselineName} ${fmt(v.baseline)}`, fmt(v.ratio), v.target, v.pass ? 'ok' : 'MISSED']
        : [v.id, `${v.what}: ${v.notMeasured}`, '', '', v.target, 'NOT MEASURED'],
    ),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()}\n`);
}

export function writeResults(path: string, baselines: object, figures: object, verdicts: readonly Verdict[]): void {
  const results = { when: new Date().toISOString(), baselines, figures, verdicts };
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
