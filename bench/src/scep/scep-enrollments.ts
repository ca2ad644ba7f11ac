/**
 * SCEP enrollments by micromdm's scepclient, as a device runs it: one whole
 * run (its own start, GetCACaps, GetCACert, PKIOperation) timed from the
 * outside, each client with a key made beforehand, one at a time for the
 * round trip and eight at a time for the rate. The same runs go against
 * etoken-ca-scep and against micromdm's own scepserver (a file key).
 */
import { ScepClient } from '../../../packages/scep-server/src/testing/scepclient.js';
import { median, nowMs, percentile } from '../stats.js';

export interface EnrollmentFigures {
  /** One client at a time, ms. */
  readonly p50: number;
  readonly p90: number;
  /** Eight clients at a time, enrollments per second. */
  readonly rate: number;
  /** Runs that ended without a certificate and were run again (see EnrollmentTarget.retries). */
  readonly failedRuns: number;
}

export interface EnrollmentTarget {
  readonly url: string;
  /** The challenge for the i-th enrollment. */
  readonly challenge: (i: number) => string;
  /** Failed runs of one enrollment run again, as a device would, before the bench gives up; their time counts. */
  readonly retries: number;
}

/** A client and the host name it enrolls for, unique in the run: a second certificate for a subject would be refused. */
export interface BenchClient {
  readonly client: ScepClient;
  readonly cn: string;
}

export const CONCURRENCY = 8;

const subjectFlags = (cn: string): string[] => ['-cn', cn, '-organization', 'Example', '-ou', 'devices', '-country', 'US'];

/** One enrollment to its certificate; returns the failed runs on the way. */
async function enroll(target: EnrollmentTarget, { client, cn }: BenchClient, i: number): Promise<number> {
  for (let failed = 0; ; failed++) {
    const run = await client.run(target.url, { challenge: target.challenge(i), subject: subjectFlags(cn) });
    if (run.status === 0) return failed;
    if (failed >= target.retries) throw new Error(`scepclient failed against ${target.url} (${run.status}): ${run.output.slice(-400)}`);
  }
}

/** Clients (keys) for `count` enrollments, made before anything is timed; `name` makes their host names unique. */
export function prepareClients(count: number, name: string): BenchClient[] {
  return Array.from({ length: count }, (_, i) => ({ client: new ScepClient(), cn: `${name}-${i}.example.org` }));
}

export async function measureEnrollments(target: EnrollmentTarget, clients: readonly BenchClient[], sequential: number, concurrent: number, warmUp: number): Promise<EnrollmentFigures> {
  let next = 0;
  let failedRuns = 0;
  const enrollNext = async (): Promise<void> => {
    const i = next++;
    const client = clients[i];
    if (!client) throw new Error('not enough clients prepared');
    failedRuns += await enroll(target, client, i);
  };
  for (let w = 0; w < warmUp; w++) await enrollNext();
  const times: number[] = [];
  for (let s = 0; s < sequential; s++) {
    const started = nowMs();
    await enrollNext();
    times.push(nowMs() - started);
  }
  const started = nowMs();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let k = 0; k < concurrent / CONCURRENCY; k++) await enrollNext();
    }),
  );
  const rate = concurrent / ((nowMs() - started) / 1000);
  return { p50: median(times), p90: percentile(times, 90), rate, failedRuns };
}
