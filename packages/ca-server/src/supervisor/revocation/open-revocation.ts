/** Puts the revocation path together from the config: queue directory, watcher, CRL template, hook. */
import type { Config } from '@etoken-ca/contract/core/config';
import { ensureQueueDir, queueLayout } from '@etoken-ca/contract/io/revocation-queue-dir';
import type { Account } from '../proc.js';
import type { CaStore } from '../store/ca-store.js';
import type { AuditLog } from '../audit-log.js';
import type { CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { createCrlTemplate } from '@etoken-ca/x509/crl';
import type { SignedAnswerChecks } from '../signed-answers.js';
import { postCrlHook } from './post-crl-hook.js';
import { QueueWatcher } from './queue-watcher.js';
import { RevocationService, type CrlSigner } from './revocation-service.js';

/** The queue is also rescanned this often; each rescan checks whether the CRL is due. */
const RESCAN_MS = 10_000;

export interface RevocationPath {
  /** SIGUSR1 and other nudges. */
  nudge(why: string): void;
  start(): void;
  stop(): void;
  readonly busy: boolean;
}

export interface RevocationSetup {
  readonly config: Config;
  readonly store: CaStore;
  readonly ca: CaCertificate;
  readonly checks: SignedAnswerChecks;
  readonly token: CrlSigner;
  readonly log: AuditLog;
  readonly hookAccount: Account;
  readonly notify: (event: string, details: Record<string, unknown>) => void;
}

export function openRevocation(setup: RevocationSetup): RevocationPath {
  const { config, log } = setup;
  const queue = queueLayout(config.revokeQueueDir);
  ensureQueueDir(queue);
  const service = new RevocationService({
    settings: config,
    queue,
    store: setup.store,
    token: setup.token,
    template: createCrlTemplate(setup.ca),
    verifySignature: (tbs, signature) => setup.checks.crlSignature(tbs, signature),
    log,
    postCrl: postCrlHook(config, setup.hookAccount, log),
    notify: setup.notify,
  });
  const watcher = new QueueWatcher({
    dir: queue.dir,
    rescanMs: RESCAN_MS,
    onNudge: (why) => service.nudge(why),
    onProblem: (message) => log.warn({ event: 'revocation.watch' }, message),
  });
  return {
    nudge: (why) => service.nudge(why),
    start: () => {
      service.encodeRevoked();
      watcher.start();
      service.nudge('start-up');
    },
    stop: () => {
      watcher.stop();
      service.stop();
    },
    get busy() {
      return service.busy;
    },
  };
}
