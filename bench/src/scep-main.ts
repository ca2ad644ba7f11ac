/**
 * `npm run bench -- --scep-only`: the SCEP figures of `npm run bench` alone
 * (S1, S2), bench/results-scep.json and a table on stdout; exit 1 when a
 * target is missed.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stageCode } from '../../test/helpers/staged-code.js';
import { printTable, progressLog, writeResults } from './report.js';
import { scepBench, scepVerdicts } from './scep/scep-bench.js';

const RESULTS = fileURLToPath(new URL('../results-scep.json', import.meta.url));
const say = progressLog();
const dir = mkdtempSync('/tmp/etoken-bench-scep-');
chmodSync(dir, 0o755);
let ok = false;
try {
  stageCode({ faultPoints: false });
  const scep = await scepBench(dir, say);
  const verdicts = scepVerdicts(scep);
  writeResults(RESULTS, { scepserver: scep.scepserver }, { scep }, verdicts);
  say(`done; wrote ${RESULTS}`);
  printTable(verdicts);
  ok = verdicts.every((v) => v.pass);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
