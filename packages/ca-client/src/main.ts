/**
 * etoken-ca-client: wires the real spool, clock, stdin and stdout to the
 * core, and turns the outcome into stderr and an exit code. Imports only
 * node built-ins and the contract, and node:crypto only once the request is
 * published: it starts once per logon.
 */
import { readFileSync } from 'node:fs';
import { readCaCertificate } from '@etoken-ca/contract/io/ca-certificate-file';
import { configPath, loadConfig } from '@etoken-ca/contract/io/load-config';
import { spoolLayout } from '@etoken-ca/contract/core/spool';
import { closeInheritedSockets } from './inherited-sockets.js';
import { HELP_TEXT, parseCommandLine } from './command-line.js';
import { ownLockTarget } from '@etoken-ca/contract/io/spool-files';
import { nodeSpool } from './node-spool.js';
import { errorOutcome, stoppedOutcome, type Outcome } from './outcome.js';
import { prepareRequest } from './prepare-request.js';
import { readBoundedInput } from './read-input.js';
import { requestCertificate } from './request-certificate.js';
import { newRequestId } from './request-id.js';
import { startDeadline, STOP_SIGNALS, stopBySignal, stopReason } from './stop-reason.js';
import { systemClock } from './system-clock.js';
import { writeFully } from './write-fully.js';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;

closeInheritedSockets();
const stop = new AbortController();
for (const name of STOP_SIGNALS) process.on(name, () => stopBySignal(stop, name));

function packageVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return `etoken-ca-client ${(manifest as { version?: string }).version ?? 'unknown'}\n`;
}

async function run(args: readonly string[]): Promise<Outcome> {
  const command = parseCommandLine(args);
  if (command.kind !== 'run') {
    writeFully(STDOUT, Buffer.from(command.kind === 'help' ? HELP_TEXT : packageVersion()));
    return { exit: 0 };
  }
  const config = loadConfig(configPath(command.configFile));
  const caCert = readCaCertificate(config.caCert);
  const startedAt = Date.now();
  startDeadline(stop, systemClock, config.clientTimeout);
  const raw = await readBoundedInput(STDIN, config.maxRequestSize, stop.signal);
  if (!raw) return stoppedOutcome(stopReason(stop.signal), 'request');
  const request = prepareRequest(raw, config);
  return requestCertificate(
    request,
    {
      spool: nodeSpool(spoolLayout(config.spoolDir), startedAt),
      clock: systemClock,
      newRequestId,
      lockTarget: ownLockTarget(),
      printCertificate: (pem) => writeFully(STDOUT, Buffer.from(pem)),
      certificateCheck: async (prepared) => (await import('./certificate-check.js')).certificateCheck(caCert, prepared),
    },
    stop.signal,
  );
}

function finish(outcome: Outcome): void {
  if (outcome.message) {
    try {
      writeFully(STDERR, Buffer.from(`etoken-ca: ${outcome.message}\n`));
    } catch {
      // Nobody is listening any more (MyProxy gave up): the exit code still counts.
    }
  }
  // Not from inside the answer's watch callback (where the outcome usually settles): libuv removes the
  // inotify watch only once that callback returns, and a process that exits with its watch still in
  // place waits in the kernel for the watch to be torn down (README, Performance).
  setImmediate(() => process.exit(outcome.exit));
}

run(process.argv.slice(2)).catch(errorOutcome).then(finish);
