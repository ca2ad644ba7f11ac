/**
 * `npm run bench -- --p6-10m-only`: P6 at 10,000,000 certificates of
 * `npm run bench` alone (targets/large-database.ts), bench/results-p6-10m.json
 * and a table on stdout; exit 1 when a target is missed.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTestToken, type TestToken } from '../../test/helpers/softhsm.js';
import { stageCode } from '../../test/helpers/staged-code.js';
import { BENCH_USERNAME, benchRequest, newCsr } from './load/request-file.js';
import { printTable, progressLog, writeResults } from './report.js';
import { describeLargeDatabase, largeDatabase } from './targets/large-database.js';
import { largeDatabaseVerdicts } from './verdicts.js';

const RESULTS = fileURLToPath(new URL('../results-p6-10m.json', import.meta.url));
const say = progressLog();
const dir = mkdtempSync('/tmp/etoken-bench-p6-');
chmodSync(dir, 0o755);
let token: TestToken | undefined;
let ok = false;
try {
  stageCode({ faultPoints: false });
  token = createTestToken({ label: `bench-rsa-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  const request = benchRequest(dir, BENCH_USERNAME, newCsr(dir));
  const figures = await largeDatabase(token, request.spoolFile, say);
  const verdicts = largeDatabaseVerdicts(figures);
  writeResults(RESULTS, {}, { largeDatabase: figures }, verdicts);
  say(`done; wrote ${RESULTS}`);
  process.stdout.write(describeLargeDatabase(figures));
  printTable(verdicts);
  ok = verdicts.every((v) => v.pass);
} finally {
  token?.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
