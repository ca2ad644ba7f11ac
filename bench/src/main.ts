/**
 * npm run bench: baselines and targets measured in one run on this machine,
 * bench/results.json and a table on stdout; exit 1 when a target is missed.
 * Needs root, SoftHSM, myproxy-server, the pkcs11 engine and micromdm's scep
 * (bench/run.sh installs what is missing). `npm run bench -- --scep-only`
 * runs the SCEP figures alone (scep-main.ts), `npm run bench -- --p6-10m-only`
 * P6 at 10M certificates alone (p6-10m-main.ts).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSoftwareCa } from '../../test/helpers/pki.js';
import { createSmartcardControl, smartcardModule, type SmartcardControl } from '../../test/helpers/smartcard.js';
import { createTestToken, type TestToken } from '../../test/helpers/softhsm.js';
import { STAGE, stageCode } from '../../test/helpers/staged-code.js';
import { diskFlushMs } from './baselines/disk-flush.js';
import { engineKey, opensslCaIssueMs, opensslGencrlMs, type OpensslKey } from './baselines/openssl-ca.js';
import { rawSigningRate } from './baselines/raw-signing.js';
import { realClientRate } from './load/real-clients.js';
import { BENCH_USERNAME, benchRequest, newCsr } from './load/request-file.js';
import { printTable, progressLog, writeResults } from './report.js';
import { scepBench, scepVerdicts } from './scep/scep-bench.js';
import { residentMb, startBenchServer, type BenchServer } from './server/bench-server.js';
import { clientStart } from './targets/client-start.js';
import { crlTiming } from './targets/crl.js';
import { latency, SCALE_LOAD, throughput, warmUp, WARM_UP_LOAD } from './targets/issuance.js';
import { describeLargeDatabase, largeDatabase } from './targets/large-database.js';
import { myproxyRoundTrips } from './targets/myproxy-roundtrip.js';
import { operatorRevocation, P10_DATABASE } from './targets/revocation.js';
import { slowTokenFigures } from './targets/slow-token.js';
import { soak } from './targets/soak.js';
import { verdicts } from './verdicts.js';

const RESULTS = fileURLToPath(new URL('../results.json', import.meta.url));
const MILLION = 1_000_000;
const INDEX_SIZES = [0, 10_000, 100_000] as const;
const CRL_SIZES = [1_000, 10_000, 100_000] as const;
/** The smart-card test module's time per signature for P8/P9, as a USB token takes. */
const SLOW_TOKEN_MS = 250;

const say = progressLog();

function opensslBaselines(dir: string, keys: Record<string, OpensslKey>, csrPath: string) {
  const issue: Record<string, Record<number, number>> = {};
  for (const [name, key] of Object.entries(keys)) {
    issue[name] = {};
    for (const entries of INDEX_SIZES) {
      say(`openssl ca -batch, ${name} key, index of ${entries}`);
      issue[name]![entries] = opensslCaIssueMs(join(dir, `ca-${name}-${entries}`), key, csrPath, entries, entries >= 100_000 ? 5 : 9);
    }
  }
  const gencrl: Record<number, number> = {};
  for (const revoked of CRL_SIZES) {
    say(`openssl ca -gencrl, ${revoked} revoked`);
    gencrl[revoked] = opensslGencrlMs(join(dir, `crl-${revoked}`), keys.file!, revoked, revoked >= 100_000 ? 3 : 5);
  }
  return { issue, gencrl };
}

async function run(dir: string, tokens: TestToken[], servers: BenchServer[], cards: SmartcardControl[]): Promise<boolean> {
  say(`installing the programs into ${STAGE} (install --prefix: the copy production runs, readable by every account)`);
  stageCode({ faultPoints: false });
  const rsa = createTestToken({ label: `bench-rsa-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  tokens.push(rsa);
  const ec = createTestToken({ label: `bench-ec-${process.pid}`, keyType: 'ec-p256' });
  tokens.push(ec);

  say('raw PKCS#11 signing rate (RSA-2048, EC P-256) and one disk flush');
  const rawRsaRate = rawSigningRate(rsa, 2000);
  const rawEcRate = rawSigningRate(ec, 1000);
  const flushMs = diskFlushMs(dir, 200);

  const csrPath = join(dir, 'openssl.csr');
  const csrPem = newCsr(dir);
  writeFileSync(csrPath, csrPem);
  const fileCa = await createSoftwareCa(join(dir, 'file-ca'), '/O=Bench/CN=File Key CA');
  const openssl = opensslBaselines(dir, { file: { certPath: fileCa.certPath, key: fileCa.keyPath }, engine: engineKey(rsa) }, csrPath);

  say('etoken-ca-server with an empty database');
  const empty = await startBenchServer(rsa, 0);
  servers.push(empty);
  say(`etoken-ca-server with ${MILLION} certificates`);
  const million = await startBenchServer(rsa, MILLION);
  servers.push(million);
  const millionMemory = residentMb(million.server.child.pid!);

  const request = benchRequest(dir, BENCH_USERNAME, csrPem);
  say(`warm-up: rounds of ${WARM_UP_LOAD.streams * WARM_UP_LOAD.perStream} uncounted issuances on each server until its rate settles`);
  const warmUpIssued = await warmUp([empty, million], request.spoolFile, WARM_UP_LOAD.streams, WARM_UP_LOAD.perStream);
  say(`warm-up settled after ${warmUpIssued[0]} (empty) and ${warmUpIssued[1]} (1M) issuances`);
  say('P1 latency: one stream');
  const oneStream = await latency(empty, request.spoolFile, 3, 100);
  say('P2/P3 throughput: 8 streams, empty and 1M databases alternating');
  const [atEmpty, atMillion] = await throughput([empty, million], request.spoolFile, SCALE_LOAD.streams, SCALE_LOAD.perStream, SCALE_LOAD.rounds);
  say('P2 with real client processes: 8 at a time');
  const realRate = await realClientRate(empty.fixture.configPath, request.stdin, 8, 48);
  say('P7 client start-up');
  const client = await clientStart(join(empty.fixture.spoolDir, 'incoming'), empty.fixture.configPath, request.stdin, 15);
  say('P5 myproxy-logon round trips');
  const myproxy = await myproxyRoundTrips(dir, empty.fixture.configPath, csrPem, 10);
  const millionAfter = residentMb(million.server.child.pid!);
  for (const server of servers.splice(0)) await server.stop();

  say(`P8/P9 on the smart-card test module (${SLOW_TOKEN_MS} ms per signature, one at a time)`);
  const card = createSmartcardControl('causer');
  cards.push(card);
  card.setSignLatency(SLOW_TOKEN_MS);
  const inFront = { modulePath: smartcardModule(), env: card.moduleEnv(rsa) };
  const moduleRate = rawSigningRate(rsa, 2500, inFront);
  const onCard = await startBenchServer(rsa, 0, { PKCS11_MODULE: inFront.modulePath, PKCS11_ENV: card.pkcs11Env(rsa) });
  servers.push(onCard);
  const slowToken = await slowTokenFigures(onCard, request.spoolFile, moduleRate);
  for (const server of servers.splice(0)) await server.stop();

  say('S1/S2 SCEP enrollments by scepclient: etoken-ca-scep against micromdm scepserver');
  const scep = await scepBench(dir, say);

  say('P4 CRL with 100,000 revoked entries');
  const crl = crlTiming(join(dir, 'crl-ours'), rsa, 100_000, 5);

  say(`P10 revoke-cert to the CRL published: ${P10_DATABASE.entries} certificates, ${P10_DATABASE.revoked} revoked; openssl ca -revoke and -gencrl on a copy`);
  const revocation = await operatorRevocation(dir, rsa, 5, 3);

  say(`J1 soak (the journal): ${MILLION} issuances without a restart, then a restart`);
  const soaked = await soak(rsa, MILLION, say);

  const large = await largeDatabase(rsa, request.spoolFile, say);

  const results = [
    ...verdicts({
      rawRsaRate,
      flushMs,
      latency: oneStream,
      rateEmpty: atEmpty!.rate,
      costEmptyMs: atEmpty!.costMs,
      costMillionMs: atMillion!.costMs,
      opensslAt100kMs: openssl.issue.file![100_000]!,
      crlMs: crl.warmMs,
      firstCrlAfterStartMs: crl.firstAfterStartMs,
      gencrlAt100kMs: openssl.gencrl[100_000]!,
      myproxy,
      startupMs: million.readyMs,
      residentMb: millionMemory.peak,
      client,
      slowToken,
      revocation,
      soak: soaked,
      largeDatabase: large,
    }),
    ...scepVerdicts(scep),
  ];
  const baselines = { rawRsaRate, smartcardModuleRate: moduleRate, rawEcRate, flushMs, opensslCaIssueMs: openssl.issue, opensslGencrlMs: openssl.gencrl, opensslRevokeThenGencrlMs: revocation.opensslMs, nodeStartMs: client.nodeMs, myproxyBuiltInMs: myproxy.builtInMs, myproxyNodeCalloutMs: myproxy.nodeCalloutMs, scepserver: scep.scepserver };
  const figures = {
    latency: oneStream,
    throughput: { empty: atEmpty, million: atMillion, realClientRate: realRate, warmUpIssued: { empty: warmUpIssued[0], million: warmUpIssued[1] } },
    crl,
    myproxy,
    client,
    slowToken,
    scep,
    revocation,
    million: { readyMs: million.readyMs, loadedMs: million.loadedMs, residentAfterStartMb: millionMemory, residentAfterLoadMb: millionAfter },
    soak: soaked,
    largeDatabase: large,
  };
  writeResults(RESULTS, baselines, figures, results);
  say(`done; wrote ${RESULTS}`);
  process.stdout.write(
    `raw signing: RSA-2048 ${rawRsaRate.toFixed(0)}/s, EC P-256 ${rawEcRate.toFixed(0)}/s; one flush ${flushMs.toFixed(2)} ms; ` +
      `real clients (8 at a time) ${realRate.toFixed(0)} cert/s; openssl ca file key ${INDEX_SIZES.map((n) => `${n}: ${openssl.issue.file![n]!.toFixed(0)} ms`).join(', ')}\n`,
  );
  process.stdout.write(describeLargeDatabase(large));
  printTable(results);
  return results.every((v) => v.pass);
}

async function main(): Promise<void> {
  const dir = mkdtempSync('/tmp/etoken-bench-');
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'crl-ours'));
  const tokens: TestToken[] = [];
  const servers: BenchServer[] = [];
  const cards: SmartcardControl[] = [];
  let ok = false;
  try {
    ok = await run(dir, tokens, servers, cards);
  } finally {
    for (const server of servers) await server.stop();
    for (const card of cards) card.cleanup();
    for (const token of tokens) token.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(ok ? 0 : 1);
}

await main();
