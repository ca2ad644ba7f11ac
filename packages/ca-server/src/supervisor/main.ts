/**
 * etoken-ca-server: wires the parts together and maps errors to exit codes.
 * Reached through bin/etoken-ca-server.js, whose first module is the signal
 * guard.
 */
import { unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '@etoken-ca/contract/core/config';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { signingPolicy } from '@etoken-ca/contract/core/namespace';
import { readCaCertificate } from '@etoken-ca/contract/io/ca-certificate-file';
import { JournalDamageError } from '@etoken-ca/contract/io/cadb/journal-files';
import { configPath, loadConfig } from '@etoken-ca/contract/io/load-config';
import { parseCaCertificate, type CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { onelineName } from '@etoken-ca/x509/oneline-name';
import { createCertTemplate } from '@etoken-ca/x509/template';
import { closeInheritedDescriptors } from '../launch/descriptors.js';
import { AlertMonitor } from './alerts/alert-monitor.js';
import { diskUsage } from './alerts/disk-usage.js';
import { parseServerArgs, USAGE } from './args.js';
import type { AuditLog } from './audit-log.js';
import { auditConfig } from './audit/startup-audit.js';
import { runTokenSelftest } from './audit/token-selftest.js';
import { runInstallCommand } from './install/command.js';
import { createLogger } from './log.js';
import { runImportCommand } from './migrate/import-command.js';
import { notifierFromConfig } from './notify/notifier.js';
import { openConsolePinSource } from './pin/open-console.js';
import { FdPinSource, readPinFd } from './pin-fd.js';
import type { PinSource } from './pin-source.js';
import { lockOwnerAlive, lookupGroup, lookupUser, type Account } from './proc.js';
import { openRevocation } from './revocation/open-revocation.js';
import { openScep } from './scep/open-scep.js';
import { runScepCommand } from './scep/scep-command.js';
import { tokenSignQueue } from './sign-queue.js';
import { signedAnswerChecks } from './signed-answers.js';
import { installSignals } from './signals.js';
import { prepareSpool } from './spool/spool-dirs.js';
import { SpoolSweeper } from './spool/sweeper.js';
import { SpoolWatcher } from './spool/watcher.js';
import { writeFileAtomic } from '@etoken-ca/contract/io/atomic-file';
import { lockCaDirectory } from './store/ca-dir-lock.js';
import { CaStore, storeSettings } from './store/ca-store.js';
import { runVerifyJournal } from './store/verify-journal.js';
import { Supervisor } from './supervisor.js';
import { TokenManager } from './token-manager.js';
import { openHotplug } from './usb/open-hotplug.js';
import { ParserClient } from './workers/parser-client.js';
import { SignerClient } from './workers/signer-client.js';

const VERSION = '0.1.0';
const RESCAN_MS = 2000;
/** The programs of the other processes, beside this one's in the build. */
const program = (name: string): string => fileURLToPath(new URL(`../${name}/main.js`, import.meta.url));

function account(name: string, key: string, file: string): Account {
  const found = lookupUser(name);
  if (!found) throw new EtokenError(ExitCode.config, `${file}: ${key}: no such user "${name}"`);
  if (found.uid === 0) throw new EtokenError(ExitCode.config, `${file}: ${key}: "${name}" is root; it must be an unprivileged account`);
  return found;
}

function caCertificate(config: Config): CaCertificate {
  const file = readCaCertificate(config.caCert);
  try {
    return parseCaCertificate(file.der);
  } catch (e) {
    throw new EtokenError(ExitCode.config, `${config.file}: CA_CERT: cannot use ${config.caCert}: ${(e as Error).message}`);
  }
}

function pinSource(config: Config, pinFd: number | undefined, log: AuditLog): PinSource {
  if (pinFd === undefined) return openConsolePinSource(config, log);
  const warn = (msg: string): void => log.warn({ event: 'pin.non-console' }, msg);
  if (!config.allowPinFd) throw new EtokenError(ExitCode.usage, `--pin-fd is refused: ${config.file} has ALLOW_PIN_FD=no`);
  let pin: Buffer;
  try {
    pin = readPinFd(pinFd);
  } catch (e) {
    throw new EtokenError(ExitCode.usage, `--pin-fd ${pinFd}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return new FdPinSource(pin, warn);
}

async function run(argv: readonly string[]): Promise<void> {
  if (argv[0] === 'install' || argv[0] === 'uninstall') return runInstallCommand(argv);
  if (argv[0] === 'import-openssl-ca') return runImportCommand(argv.slice(1));
  if (argv[0] === 'scep') return runScepCommand(argv.slice(1));
  if (argv[0] === 'verify-journal') return runVerifyJournal(argv.slice(1));
  const args = parseServerArgs(argv);
  if (args.help) return void process.stdout.write(`${USAGE}\n`);
  if (args.version) return void process.stdout.write(`etoken-ca-server ${VERSION}\n`);
  const config = loadConfig(configPath(args.config));
  if (args.signingPolicy) return void process.stdout.write(signingPolicy(onelineName(caCertificate(config).subjectDer), config.namespace));
  const log: AuditLog = createLogger(config.logLevel);
  if (process.getuid?.() !== 0) throw new EtokenError(ExitCode.noPermission, 'etoken-ca-server must run as root');
  // Nothing its starter left open reaches the workers and hooks; the PIN descriptor is read below.
  closeInheritedDescriptors((fd) => fd <= 2 || fd === args.pinFd);
  if (args.tokenSelftest) {
    const out = (line: string): void => void process.stdout.write(`${line}\n`);
    const signer = account(config.caUser, 'CA_USER', config.file);
    process.exit(await runTokenSelftest({ config, account: signer, pins: pinSource(config, args.pinFd, log), confirmsFinalTry: args.pinFd === undefined, log, out }));
  }
  await auditConfig(config, args.check ? 'check' : 'start', log);
  if (args.check) return;

  const signerAccount = account(config.caUser, 'CA_USER', config.file);
  const parserAccount = account(config.parserUser, 'PARSER_USER', config.file);
  if (signerAccount.uid === parserAccount.uid) {
    throw new EtokenError(ExitCode.config, `${config.file}: CA_USER and PARSER_USER must be different accounts`);
  }
  const clientGid = lookupGroup(config.clientGroup);
  if (clientGid === null) throw new EtokenError(ExitCode.config, `${config.file}: CLIENT_GROUP: no such group "${config.clientGroup}"`);
  const ca = caCertificate(config);
  const checks = signedAnswerChecks(createCertTemplate(config, ca), ca);
  const hookAccount = account(config.hookUser, 'HOOK_USER', config.file);
  const notifier = notifierFromConfig(config, hookAccount, log);
  const notify = (event: string, details: Record<string, unknown>): void => void notifier.notify(event, details);
  const pins = pinSource(config, args.pinFd, log);
  const alerts = new AlertMonitor({ config, caNotAfter: ca.notAfter, clock: Date.now, diskUsage, log, notify });

  // One writer per CA directory, taken before anything there is read or written.
  const unlock = lockCaDirectory(config.caDir);
  const workerArgs = ['--config', config.file];
  const signerSpec = { name: 'signer', script: program('signer'), args: workerArgs, account: signerAccount };
  const token = new TokenManager({
    createSigner: (hooks) => new SignerClient(signerSpec, config.signerTimeout * 1000, hooks),
    pollMs: config.tokenPollInterval * 1000,
    pinSource: pins,
    log,
    notify,
  });
  // The signer's process starts while the database loads; what it finds waits for token.start() below.
  token.startEarly();

  let store: CaStore;
  try {
    store = await CaStore.open(config.caDir, { settings: storeSettings(config), log, notify });
  } catch (e) {
    if (e instanceof JournalDamageError) log.error({ event: 'db.journal-damaged', report: e.report }, `the CA journal is damaged; not starting: ${e.report}`);
    throw e;
  }
  const { newcertsRewritten, ...loaded } = store.startup;
  log.info({ event: 'db.loaded', ...loaded, newcertsRewritten: newcertsRewritten.length }, `CA database loaded: ${loaded.certificates} certificates, ${loaded.expiredOnDisk} of them expired and left on disk`);
  for (const serial of loaded.withheld) {
    log.warn({ event: 'cert.withheld', serial, reason: 'signature outcome unknown after a restart' }, 'certificate withheld and revoked');
  }
  for (const serial of newcertsRewritten) {
    log.info({ event: 'newcert.rewritten', serial }, `newcerts/${serial}.pem was missing or incomplete: written from the journal`);
  }
  const layout = prepareSpool(config.spoolDir, clientGid);

  const parser = new ParserClient({ name: 'parser', script: program('parser'), args: workerArgs, account: parserAccount }, log);
  const hotplug = await openHotplug({
    device: config.usbDevice,
    eventsFrom: args.usbEventsFrom,
    info: (m) => log.info({ event: 'usb.none' }, m),
    warn: (m) => log.warn({ event: 'usb.events' }, m),
  });
  hotplug.onAttach(() => token.hotplug('attach'));
  hotplug.onDetach(() => token.hotplug('detach'));
  // Every certificate signature, MyProxy's and SCEP's, takes its turn in this one queue (CRLs have their own path).
  const queue = tokenSignQueue(token, Date.now);
  const supervisor = new Supervisor({ config, layout, store, parser, token, queue, log: alerts.watch(log), clientGid, ca, checks });
  const sweeper = new SpoolSweeper(layout, (config.clientTimeout + 10) * 1000, {
    ownerAlive: lockOwnerAlive,
    inFlight: (id) => supervisor.isInFlight(id),
    now: Date.now,
    log: (event, details) => log.info({ event, ...details }, event),
  });
  const watcher = new SpoolWatcher({
    layout,
    rescanMs: RESCAN_MS,
    onLock: (id) => supervisor.onLock(id),
    onRescan: (names) => sweeper.sweep(names),
    onProblem: (message) => log.warn({ event: 'spool.watch' }, message),
  });
  const revocation = openRevocation({ config, store, ca, checks, token, log, hookAccount, notify });
  const scep = openScep({ config, store, parser, token, queue, log, ca, checks, hookAccount, clock: Date.now, nudgeCrl: (why) => revocation.nudge(why) });

  let stopping = false;
  installSignals({
    revocationNudge: () => revocation.nudge('SIGUSR1'),
    stop: (signal) => {
      if (stopping) return;
      stopping = true;
      log.info({ event: 'server.stopping', signal, inFlight: supervisor.inFlight }, 'stopping');
      watcher.stop();
      // What waits for the token is refused (MyProxy) or left pending (SCEP); what is with it finishes.
      queue.close();
      revocation.stop();
      scep?.stop();
      const deadline = Date.now() + config.signerTimeout * 1000;
      const finish = (): void => {
        if ((supervisor.inFlight > 0 || revocation.busy || (scep?.inFlight ?? 0) > 0) && Date.now() < deadline) return void setTimeout(finish, 50);
        hotplug.close();
        alerts.stop();
        token.stop();
        parser.stop();
        void store.stop().then(() => {
          unlock();
          try {
            unlinkSync(config.pidFile);
          } catch {
            // not there
          }
          log.info({ event: 'server.stopped' }, 'stopped');
          process.exit(ExitCode.ok);
        });
      };
      finish();
    },
  });

  store.start();
  parser.start();
  token.start();
  watcher.start();
  revocation.start();
  scep?.start();
  alerts.start();
  writeFileAtomic(config.pidFile, `${process.pid}\n`, { mode: 0o644 });
  log.info({ event: 'server.started', pid: process.pid, spool: config.spoolDir, caDir: config.caDir }, 'etoken-ca-server started');
}

run(process.argv.slice(2)).catch((e: unknown) => {
  const error = e instanceof EtokenError ? e : new EtokenError(ExitCode.software, `internal error: ${(e as Error)?.message ?? String(e)}`);
  process.stderr.write(`etoken-ca-server: ${error.message}\n`);
  process.exit(error.exitCode);
});
