/**
 * The SCEP figures: scepclient enrollments through etoken-ca-scep (the real
 * chain: the front end as scep, etoken-ca-server on a SoftHSM token, a
 * one-time challenge each, SCEP_ALGORITHMS=legacy since scepclient sends
 * SHA-1 and single DES) and through micromdm's scepserver, measured in the
 * same run, alternating: round trip p50 one at a time, and the rate of eight
 * at a time.
 */
import { startScepCa, type ScepCa } from '../../../test/helpers/scep-ca.js';
import type { Verdict } from '../report.js';
import { measureEnrollments, prepareClients, type BenchClient, type EnrollmentFigures, type EnrollmentTarget } from './scep-enrollments.js';
import { startScepserver, type Scepserver } from './scepserver-baseline.js';

const WARM_UP = 6;
const SEQUENTIAL = 30;
const CONCURRENT = 48;
/** Odd, so that each figure is the middle round's. */
const ROUNDS = 3;
const PER_ROUND = WARM_UP + SEQUENTIAL + CONCURRENT;
/**
 * scepserver 2.1.0's file depot takes the next serial without a lock (it
 * removes the serial file and creates it anew): enrollments at the same time
 * sometimes fail there, and a device would enroll again. Ours get none.
 */
const SCEPSERVER_RETRIES = 3;

export interface ScepBenchFigures {
  readonly etokenCa: EnrollmentFigures;
  readonly scepserver: EnrollmentFigures;
  readonly rounds: readonly { readonly etokenCa: EnrollmentFigures; readonly scepserver: EnrollmentFigures }[];
}

const medianOf = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

function combine(rounds: readonly EnrollmentFigures[]): EnrollmentFigures {
  return {
    p50: medianOf(rounds.map((r) => r.p50)),
    p90: medianOf(rounds.map((r) => r.p90)),
    rate: medianOf(rounds.map((r) => r.rate)),
    failedRuns: rounds.reduce((sum, r) => sum + r.failedRuns, 0),
  };
}

async function measure(target: EnrollmentTarget, name: string): Promise<EnrollmentFigures> {
  const clients: BenchClient[] = prepareClients(PER_ROUND, name);
  try {
    return await measureEnrollments(target, clients, SEQUENTIAL, CONCURRENT, WARM_UP);
  } finally {
    for (const { client } of clients) client.remove();
  }
}

export async function scepBench(dir: string, say: (what: string) => void): Promise<ScepBenchFigures> {
  let ca: ScepCa | undefined;
  let baseline: Scepserver | undefined;
  try {
    say('SCEP: etoken-ca-scep in front of etoken-ca-server (SoftHSM), and micromdm scepserver with a file key');
    ca = await startScepCa(`bench-scep-${process.pid}`, { SCEP_ALGORITHMS: 'legacy' });
    baseline = await startScepserver(dir);
    const rounds: { etokenCa: EnrollmentFigures; scepserver: EnrollmentFigures }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      say(`SCEP round ${round + 1}/${ROUNDS}: ${PER_ROUND} scepclient enrollments against each (keys made first)`);
      const challenges = ca.challenges('/C=US/O=Example/OU=devices/CN=*', PER_ROUND);
      const ours = await measure({ url: ca.url, challenge: (i) => challenges[i]!, retries: 0 }, `bench-r${round}-ours`);
      const theirs = await measure({ url: baseline.url, challenge: () => baseline!.challenge, retries: SCEPSERVER_RETRIES }, `bench-r${round}-theirs`);
      say(`SCEP round ${round + 1}: p50 ${ours.p50.toFixed(0)} ms vs ${theirs.p50.toFixed(0)} ms, 8 at a time ${ours.rate.toFixed(1)}/s vs ${theirs.rate.toFixed(1)}/s`);
      rounds.push({ etokenCa: ours, scepserver: theirs });
    }
    return { etokenCa: combine(rounds.map((r) => r.etokenCa)), scepserver: combine(rounds.map((r) => r.scepserver)), rounds };
  } finally {
    await baseline?.stop();
    await ca?.stop();
  }
}

export function scepVerdicts(f: ScepBenchFigures): Verdict[] {
  const { etokenCa: ours, scepserver: theirs } = f;
  return [
    { id: 'S1', what: 'SCEP enrollment p50', figure: ours.p50, unit: 'ms', baselineName: 'scepserver p50 ms', baseline: theirs.p50, ratio: ours.p50 / theirs.p50, target: '<= 1.2', pass: ours.p50 <= 1.2 * theirs.p50 },
    { id: 'S2', what: 'SCEP 8 at a time', figure: ours.rate, unit: 'enrol/s', baselineName: 'scepserver enrol/s', baseline: theirs.rate, ratio: ours.rate / theirs.rate, target: '>= 1', pass: ours.rate >= theirs.rate },
  ];
}
