/**
 * etoken-ca-scep: the SCEP front end. Reached through bin/etoken-ca-scep.js,
 * whose first lines put listeners on the signals whose default would hurt
 * (SIGUSR1 would open Node's inspector). Runs as SCEP_USER; logs JSON lines
 * on stdout (the unit sends them to the journal); maps errors to exit codes.
 */
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { spoolLayout } from '@etoken-ca/contract/core/spool';
import { readCaCertificate } from '@etoken-ca/contract/io/ca-certificate-file';
import { configPath, loadConfig } from '@etoken-ca/contract/io/load-config';
import { LEGACY_ALGORITHMS, MAX_PKI_MESSAGE_BYTES, STRONG_ALGORITHMS } from '@etoken-ca/scep-server/core/index';
import { startHttpServer } from './http-server.js';
import { checkOwnAccount } from './own-account.js';
import { loadRaCredentials } from './ra-files.js';
import { ScepSpoolClient } from './scep-spool-client.js';
import { scepOperations } from './scep-operations.js';

const VERSION = '0.1.0';
/** How far a request's signingTime may be from this clock. */
const MAX_CLOCK_SKEW_MS = 24 * 3_600_000;
const USAGE = `usage: etoken-ca-scep [--config FILE]

The SCEP (RFC 8894) front end of etoken-ca: answers GetCACaps, GetCACert and
GetNextCACert, and hands PKIOperations to etoken-ca-server through
SCEP_SPOOL_DIR. Runs as SCEP_USER (systemd/etoken-ca-scep.service).

  --config FILE   the configuration (default: ETOKEN_CA_CONFIG, else /etc/sysconfig/etoken-ca)
  --help          this text
  --version       the version`;

function log(level: 'info' | 'warn' | 'error', event: string, details: Record<string, unknown>, msg: string): void {
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), name: 'etoken-ca-scep', event, ...details, msg })}\n`);
}

function readArgs(argv: string[]): { config?: string; help: boolean; version: boolean } {
  try {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, help: { type: 'boolean' }, version: { type: 'boolean' } }, strict: true });
    return { config: values.config, help: values.help ?? false, version: values.version ?? false };
  } catch (e) {
    throw new EtokenError(ExitCode.usage, `${(e as Error).message}\n${USAGE}`);
  }
}

async function run(argv: string[]): Promise<void> {
  const args = readArgs(argv);
  if (args.help) return void process.stdout.write(`${USAGE}\n`);
  if (args.version) return void process.stdout.write(`etoken-ca-scep ${VERSION}\n`);
  const config = loadConfig(configPath(args.config));
  checkOwnAccount(config);
  const ca = new X509Certificate(readCaCertificate(config.caCert).der);
  const ra = loadRaCredentials(config.scepRaKey, config.scepRaCert);
  const raCertificate = new X509Certificate(ra.certificateDer);
  if (!raCertificate.verify(ca.publicKey) || Date.parse(raCertificate.validTo) <= Date.now()) {
    throw new EtokenError(ExitCode.config, `SCEP_RA_CERT ${config.scepRaCert}: not a valid certificate of the CA in ${config.caCert} (renew it with etoken-ca-server scep issue-ra-cert)`);
  }
  const spool = new ScepSpoolClient(spoolLayout(config.scepSpoolDir));
  try {
    spool.start();
  } catch (e) {
    throw new EtokenError(ExitCode.unavailable, `SCEP_SPOOL_DIR ${config.scepSpoolDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (is etoken-ca-server installed and running?)`);
  }
  const answer = scepOperations({
    ra,
    policy: config.scepAlgorithms === 'legacy' ? LEGACY_ALGORITHMS : STRONG_ALGORITHMS,
    caCertificate: ca,
    caCertificates: config.scepCaCerts === 'ra' ? [ra.certificateDer] : [ra.certificateDer, ca.raw],
    spool,
    answerWaitMs: config.scepAnswerWait * 1000,
    maxClockSkewMs: MAX_CLOCK_SKEW_MS,
    log: (event, details) => log('info', event, details, event),
  });
  const limits = { maxConnections: config.scepMaxConnections, maxInFlight: config.scepMaxInFlight, readTimeoutMs: config.scepReadTimeout * 1000, maxBodyBytes: MAX_PKI_MESSAGE_BYTES };
  const server = startHttpServer(limits, answer, (message) => log('error', 'scep.internal', {}, message));
  server.listen(config.scepListen.port, config.scepListen.host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(new EtokenError(ExitCode.unavailable, `cannot listen on ${config.scepListen.host}:${config.scepListen.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)))]);
  log('info', 'scep.started', { pid: process.pid, listen: `${config.scepListen.host}:${config.scepListen.port}`, spool: config.scepSpoolDir, algorithms: config.scepAlgorithms }, 'etoken-ca-scep started');
  const stop = (signal: string): void => {
    log('info', 'scep.stopping', { signal, waiting: spool.waiting }, 'stopping');
    spool.stop();
    server.close(() => process.exit(ExitCode.ok));
    server.closeAllConnections();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

run(process.argv.slice(2)).catch((e: unknown) => {
  const error = e instanceof EtokenError ? e : new EtokenError(ExitCode.software, `internal error: ${(e as Error)?.message ?? String(e)}`);
  process.stderr.write(`etoken-ca-scep: ${error.message}\n`);
  process.exit(error.exitCode);
});
