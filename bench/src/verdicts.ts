/** The targets P1-P10 and J1 of the benchmark issues, each as a ratio against its baseline from the same run (P2 >= 0.6, P5 and P7 as the performance issue restated them). */
import type { Verdict } from './report.js';
import type { LargeDatabaseFigures } from './targets/large-database.js';

export interface Measured {
  readonly rawRsaRate: number;
  readonly flushMs: number;
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly rateEmpty: number;
  readonly costEmptyMs: number;
  readonly costMillionMs: number;
  readonly opensslAt100kMs: number;
  readonly crlMs: number;
  readonly firstCrlAfterStartMs: number;
  readonly gencrlAt100kMs: number;
  readonly myproxy: { readonly builtInMs: number; readonly etokenMs: number; readonly nodeCalloutMs: number; readonly nodeMs: number };
  readonly startupMs: number;
  /** Peak resident memory of the server on 1M certificates once started. */
  readonly residentMb: number;
  readonly client: { readonly clientMs: number; readonly nodeMs: number };
  /** P8/P9 on the smart-card test module. */
  readonly slowToken: { readonly moduleRate: number; readonly signatureMs: number; readonly rate: number; readonly latency: { readonly p50: number } };
  /** P10: revoke-cert to the CRL published at 1M certificates, and openssl ca -revoke then -gencrl on the same database. */
  readonly revocation: { readonly medianMs: number; readonly opensslMs: number };
  /** The restart after a million issuances without one (targets/soak.ts). */
  readonly soak: { readonly readyMs: number; readonly peakMb: number };
  /** P6 at 10M certificates, 9.9M expired (targets/large-database.ts). */
  readonly largeDatabase: LargeDatabaseFigures;
}

type Row = Pick<Verdict, 'id' | 'what' | 'figure' | 'unit' | 'baselineName' | 'baseline'>;

/** figure <= factor x baseline (a time, a size). */
function atMost(row: Row, factor = 1): Verdict {
  return { ...row, ratio: row.figure / row.baseline, target: `<= ${factor}`, pass: row.figure <= factor * row.baseline };
}

/** figure >= factor x baseline (a rate). */
function atLeast(row: Row, factor: number): Verdict {
  return { ...row, ratio: row.figure / row.baseline, target: `>= ${factor}`, pass: row.figure >= factor * row.baseline };
}

/** baseline >= factor x figure: ours is that many times faster than the baseline's time. */
function speedUp(row: Row, factor: number): Verdict {
  return { ...row, ratio: row.baseline / row.figure, target: `speed-up >= ${factor}`, pass: row.baseline >= factor * row.figure };
}

const limitMs = (id: string, what: string, figure: number, limit: number): Verdict => atMost({ id, what, figure, unit: 'ms', baselineName: 'limit ms', baseline: limit });
const limitMb = (id: string, what: string, figure: number): Verdict => atMost({ id, what, figure, unit: 'MB', baselineName: 'limit MB', baseline: 256 });

/**
 * P6 at 10M certificates, 9.9M expired: the second start on the directory (the first one, after an upgrade, has no
 * target), and on that server the first CRL after start-up (the server's part, within P4's limit) and the cost per
 * certificate against an empty database (P3's ratio).
 */
export function largeDatabaseVerdicts(f: LargeDatabaseFigures): Verdict[] {
  return [
    limitMs('P6', 'start-up 10M, 9.9M expired', f.secondStart.readyMs, 3000),
    limitMb('P6', 'peak RSS 10M, 9.9M expired', f.secondStart.peakMb),
    atMost({ id: 'P6', what: 'cost at 10M', figure: f.issuance.large.costMs, unit: 'ms/cert', baselineName: 'cost at 0 ms/cert', baseline: f.issuance.empty.costMs }, 1.1),
    limitMs('P6', 'first CRL after start-up, 10M', f.firstCrl.phases.drainMs, 100),
  ];
}

export function verdicts(m: Measured): Verdict[] {
  const signatureMs = 1000 / m.rawRsaRate;
  const p1Limit = signatureMs + m.flushMs + 2;
  return [
    atMost({ id: 'P1', what: 'latency p50', figure: m.latency.p50, unit: 'ms', baselineName: 'signature+flush+2 ms', baseline: p1Limit }),
    atMost({ id: 'P1', what: 'latency p99', figure: m.latency.p99, unit: 'ms', baselineName: 'signature+flush+12 ms', baseline: p1Limit + 10 }),
    atLeast({ id: 'P2', what: '8 streams', figure: m.rateEmpty, unit: 'cert/s', baselineName: 'raw RSA sig/s', baseline: m.rawRsaRate }, 0.6),
    atMost({ id: 'P3', what: 'cost at 1M', figure: m.costMillionMs, unit: 'ms/cert', baselineName: 'cost at 0 ms/cert', baseline: m.costEmptyMs }, 1.1),
    speedUp({ id: 'P3', what: 'cost at 1M', figure: m.costMillionMs, unit: 'ms/cert', baselineName: 'openssl ca @100k ms', baseline: m.opensslAt100kMs }, 50),
    limitMs('P4', 'CRL 100k', m.crlMs, 100),
    limitMs('P4', 'first CRL 100k after start-up', m.firstCrlAfterStartMs, 100),
    speedUp({ id: 'P4', what: 'CRL 100k', figure: m.crlMs, unit: 'ms', baselineName: 'openssl -gencrl ms', baseline: m.gencrlAt100kMs }, 10),
    atMost({
      id: 'P5',
      what: 'logon minus Node-callout logon',
      figure: m.myproxy.etokenMs - m.myproxy.nodeCalloutMs,
      unit: 'ms',
      baselineName: 'P1 p50+3 ms',
      baseline: m.latency.p50 + 3,
    }),
    limitMs('P6', 'start-up 1M', m.startupMs, 3000),
    limitMb('P6', 'peak RSS 1M', m.residentMb),
    ...largeDatabaseVerdicts(m.largeDatabase),
    atMost({ id: 'P7', what: 'client start', figure: m.client.clientMs, unit: 'ms', baselineName: 'node -e 0 ms', baseline: m.client.nodeMs }, 1.1),
    atLeast({ id: 'P8', what: '8 streams, slow token', figure: m.slowToken.rate, unit: 'cert/s', baselineName: 'module sig/s', baseline: m.slowToken.moduleRate }, 0.95),
    atMost({ id: 'P9', what: 'latency p50, slow token', figure: m.slowToken.latency.p50, unit: 'ms', baselineName: 'signature+5 ms', baseline: m.slowToken.signatureMs + 5 }),
    limitMs('P10', 'revoke-cert to CRL, 1M', m.revocation.medianMs, 100),
    speedUp({ id: 'P10', what: 'revoke-cert to CRL, 1M', figure: m.revocation.medianMs, unit: 'ms', baselineName: 'openssl -revoke,-gencrl ms', baseline: m.revocation.opensslMs }, 5),
    limitMs('J1', 'start-up after 1M issuances', m.soak.readyMs, 3000),
    limitMb('J1', 'peak RSS after 1M issuances', m.soak.peakMb),
  ];
}
