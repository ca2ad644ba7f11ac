/** The targets P1-P10 and J1 of the benchmark issues, each as a ratio against its baseline from the same run. */
import type { Verdict } from './report.js';

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
  readonly myproxy: { readonly builtInMs: number; readonly etokenMs: number; readonly nodeMs: number };
  readonly startupMs: number;
  readonly residentMb: number;
  readonly client: { readonly clientMs: number; readonly nodeMs: number };
  /** P8/P9 on the smart-card test module. */
  readonly slowToken: { readonly moduleRate: number; readonly signatureMs: number; readonly rate: number; readonly latency: { readonly p50: number } };
  /** P10: revoke-cert to the CRL published at 1M certificates, and openssl ca -revoke then -gencrl on the same database. */
  readonly revocation: { readonly medianMs: number; readonly opensslMs: number };
  /** The restart after a million issuances without one (targets/soak.ts). */
  readonly soak: { readonly readyMs: number; readonly peakMb: number };
}

export function verdicts(m: Measured): Verdict[] {
  const signatureMs = 1000 / m.rawRsaRate;
  const p1Limit = signatureMs + m.flushMs + 2;
  const calloutExtraMs = m.myproxy.etokenMs - m.myproxy.builtInMs;
  return [
    { id: 'P1', what: 'latency p50', figure: m.latency.p50, unit: 'ms', baselineName: 'signature+flush+2 ms', baseline: p1Limit, ratio: m.latency.p50 / p1Limit, target: '<= 1', pass: m.latency.p50 <= p1Limit },
    { id: 'P1', what: 'latency p99', figure: m.latency.p99, unit: 'ms', baselineName: 'signature+flush+12 ms', baseline: p1Limit + 10, ratio: m.latency.p99 / (p1Limit + 10), target: '<= 1', pass: m.latency.p99 <= p1Limit + 10 },
    { id: 'P2', what: '8 streams', figure: m.rateEmpty, unit: 'cert/s', baselineName: 'raw RSA sig/s', baseline: m.rawRsaRate, ratio: m.rateEmpty / m.rawRsaRate, target: '>= 0.5', pass: m.rateEmpty >= m.rawRsaRate / 2 },
    { id: 'P3', what: 'cost at 1M', figure: m.costMillionMs, unit: 'ms/cert', baselineName: 'cost at 0 ms/cert', baseline: m.costEmptyMs, ratio: m.costMillionMs / m.costEmptyMs, target: '<= 1.1', pass: m.costMillionMs <= 1.1 * m.costEmptyMs },
    { id: 'P3', what: 'cost at 1M', figure: m.costMillionMs, unit: 'ms/cert', baselineName: 'openssl ca @100k ms', baseline: m.opensslAt100kMs, ratio: m.opensslAt100kMs / m.costMillionMs, target: 'speed-up >= 50', pass: m.opensslAt100kMs >= 50 * m.costMillionMs },
    { id: 'P4', what: 'CRL 100k', figure: m.crlMs, unit: 'ms', baselineName: 'limit ms', baseline: 100, ratio: m.crlMs / 100, target: '<= 1', pass: m.crlMs <= 100 },
    { id: 'P4', what: 'first CRL 100k after start-up', figure: m.firstCrlAfterStartMs, unit: 'ms', baselineName: 'limit ms', baseline: 100, ratio: m.firstCrlAfterStartMs / 100, target: '<= 1', pass: m.firstCrlAfterStartMs <= 100 },
    { id: 'P4', what: 'CRL 100k', figure: m.crlMs, unit: 'ms', baselineName: 'openssl -gencrl ms', baseline: m.gencrlAt100kMs, ratio: m.gencrlAt100kMs / m.crlMs, target: 'speed-up >= 10', pass: m.gencrlAt100kMs >= 10 * m.crlMs },
    { id: 'P5', what: 'logon extra', figure: calloutExtraMs, unit: 'ms', baselineName: 'node -e 0 ms', baseline: m.myproxy.nodeMs, ratio: calloutExtraMs / m.myproxy.nodeMs, target: '<= 1.2', pass: calloutExtraMs <= 1.2 * m.myproxy.nodeMs },
    { id: 'P6', what: 'start-up 1M', figure: m.startupMs, unit: 'ms', baselineName: 'limit ms', baseline: 3000, ratio: m.startupMs / 3000, target: '<= 1', pass: m.startupMs <= 3000 },
    { id: 'P6', what: 'RSS 1M', figure: m.residentMb, unit: 'MB', baselineName: 'limit MB', baseline: 256, ratio: m.residentMb / 256, target: '<= 1', pass: m.residentMb <= 256 },
    { id: 'P7', what: 'client start', figure: m.client.clientMs, unit: 'ms', baselineName: 'node -e 0 ms', baseline: m.client.nodeMs, ratio: m.client.clientMs / m.client.nodeMs, target: '<= 1.5', pass: m.client.clientMs <= 1.5 * m.client.nodeMs },
    {
      id: 'P8',
      what: '8 streams, slow token',
      figure: m.slowToken.rate,
      unit: 'cert/s',
      baselineName: 'module sig/s',
      baseline: m.slowToken.moduleRate,
      ratio: m.slowToken.rate / m.slowToken.moduleRate,
      target: '>= 0.95',
      pass: m.slowToken.rate >= 0.95 * m.slowToken.moduleRate,
    },
    {
      id: 'P9',
      what: 'latency p50, slow token',
      figure: m.slowToken.latency.p50,
      unit: 'ms',
      baselineName: 'signature+5 ms',
      baseline: m.slowToken.signatureMs + 5,
      ratio: m.slowToken.latency.p50 / (m.slowToken.signatureMs + 5),
      target: '<= 1',
      pass: m.slowToken.latency.p50 <= m.slowToken.signatureMs + 5,
    },
    { id: 'P10', what: 'revoke-cert to CRL, 1M', figure: m.revocation.medianMs, unit: 'ms', baselineName: 'limit ms', baseline: 100, ratio: m.revocation.medianMs / 100, target: '<= 1', pass: m.revocation.medianMs <= 100 },
    {
      id: 'P10',
      what: 'revoke-cert to CRL, 1M',
      figure: m.revocation.medianMs,
      unit: 'ms',
      baselineName: 'openssl -revoke,-gencrl ms',
      baseline: m.revocation.opensslMs,
      ratio: m.revocation.opensslMs / m.revocation.medianMs,
      target: 'speed-up >= 5',
      pass: m.revocation.opensslMs >= 5 * m.revocation.medianMs,
    },
    { id: 'J1', what: 'start-up after 1M issuances', figure: m.soak.readyMs, unit: 'ms', baselineName: 'limit ms', baseline: 3000, ratio: m.soak.readyMs / 3000, target: '<= 1', pass: m.soak.readyMs <= 3000 },
    { id: 'J1', what: 'peak RSS after 1M issuances', figure: m.soak.peakMb, unit: 'MB', baselineName: 'limit MB', baseline: 256, ratio: m.soak.peakMb / 256, target: '<= 1', pass: m.soak.peakMb <= 256 },
  ];
}
