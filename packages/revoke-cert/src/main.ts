/** revoke-cert: queues revocations for etoken-ca-server, or lists the CA database. Maps errors to exit codes. */
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '@etoken-ca/contract/core/config';
import { readCaCertificate } from '@etoken-ca/contract/io/ca-certificate-file';
import { configPath, loadConfig } from '@etoken-ca/contract/io/load-config';
import { caLayout } from '@etoken-ca/contract/core/cadb/layout';
import { findCertificates } from '@etoken-ca/contract/io/cadb/find';
import { loadCaDatabase } from '@etoken-ca/contract/io/cadb/load';
import { faultPoint } from '@etoken-ca/contract/io/fault-point';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { fsyncDirectory } from '@etoken-ca/contract/io/atomic-file';
import { ensureQueueDir, queueLayout, writeQueueEntry } from '@etoken-ca/contract/io/revocation-queue-dir';
import type { RevocationRequest } from '@etoken-ca/contract/core/revocation-queue';
import { parseArgs, USAGE, type Args } from './args.js';
import { formatTable, selectEntries } from './listing.js';
import { currentOperator } from '@etoken-ca/contract/io/operator';
import { findServer } from './server-process.js';
import { checkTargets } from './targets.js';
import { waitForDone } from './wait-for-crl.js';

const say = (line: string): boolean => process.stdout.write(`${line}\n`);

function list(args: Args, config: Config): void {
  const { db } = loadCaDatabase(config.caDir);
  const newcerts = caLayout(config.caDir).newcerts;
  const notBefore = (serial: string): string | null => {
    try {
      return new Date(new X509Certificate(readFileSync(join(newcerts, `${serial}.pem`))).validFrom).toISOString();
    } catch {
      return null;
    }
  };
  const rows = selectEntries(db.entries(), Date.now(), { state: args.state, subject: args.subject }, notBefore);
  process.stdout.write(args.json ? `${JSON.stringify(rows, null, 2)}\n` : formatTable(rows));
}

function caCertificate(config: Config): X509Certificate {
  const { der } = readCaCertificate(config.caCert);
  try {
    return new X509Certificate(der);
  } catch (e) {
    throw new EtokenError(ExitCode.config, `${config.file}: CA_CERT: cannot use ${config.caCert}: ${(e as Error).message}`);
  }
}

async function revoke(args: Args, config: Config): Promise<void> {
  if (process.getuid?.() !== 0) throw new EtokenError(ExitCode.noPermission, 'revoking needs root');
  // Its account lookup runs beside the database lookup below.
  const operatorLookup = currentOperator();
  const { targets, problems } = checkTargets(args.targets, caCertificate(config), (serials) => findCertificates(config.caDir, serials));
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`revoke-cert: ${problem}\n`);
    throw new EtokenError(ExitCode.dataError, 'nothing queued');
  }
  const queue = queueLayout(config.revokeQueueDir);
  ensureQueueDir(queue);
  const operator = await operatorLookup;
  const requests: RevocationRequest[] = targets.map((t) => ({
    id: randomBytes(16).toString('hex'),
    serial: t.serial,
    reason: args.reason,
    requestedAt: Date.now(),
    by: operator.name,
    uid: operator.uid,
    ...(args.compromisedAt === undefined ? {} : { compromisedAt: args.compromisedAt }),
  }));
  try {
    for (const request of requests) writeQueueEntry(queue, request);
    fsyncDirectory(queue.dir);
  } catch (e) {
    throw new EtokenError(ExitCode.cantCreate, `cannot write to ${queue.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const compromised = args.compromisedAt === undefined ? '' : `, compromised ${new Date(args.compromisedAt).toISOString()}`;
  for (const t of targets) say(`queued: ${t.serial} ${t.subject} (${args.reason}${compromised})`);
  faultPoint('revoke-cert.after-queued');

  const server = findServer(config.pidFile);
  if (!server.running) {
    throw new EtokenError(
      ExitCode.unavailable,
      `etoken-ca-server is not running (${server.why}): ${requests.length} revocation(s) stay queued in ${queue.dir} and are processed when it runs`,
    );
  }
  process.kill(server.pid, 'SIGUSR1');
  if (!args.wait) return;
  const done = await waitForDone(queue, requests.map((r) => r.id), args.timeoutSeconds * 1000);
  if (!done) {
    throw new EtokenError(
      ExitCode.tempFail,
      `no CRL published within ${args.timeoutSeconds} s (is the token usable?): the revocations stay queued and are processed when it is`,
    );
  }
  for (const d of done) {
    if (d.crlNumber === null) {
      process.stderr.write(`revoke-cert: ${d.serial}: refused by the server: ${d.refused ?? 'unknown reason'}\n`);
      process.exitCode = ExitCode.dataError;
    } else say(`revoked: ${d.serial} in CRL number ${d.crlNumber}`);
  }
}

async function run(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.help) return void process.stdout.write(`${USAGE}\n`);
  if (!args.list && args.targets.length === 0) throw new EtokenError(ExitCode.usage, 'nothing to do (see --help)');
  const config = loadConfig(configPath(args.config));
  return args.list ? list(args, config) : revoke(args, config);
}

run(process.argv.slice(2)).catch((e: unknown) => {
  const error = e instanceof EtokenError ? e : new EtokenError(ExitCode.software, `internal error: ${(e as Error).message}`);
  process.stderr.write(`revoke-cert: ${error.message}\n`);
  process.exitCode = error.exitCode;
});
