/**
 * Puts the CA side of SCEP together from the config, when SCEP_ENABLE=yes:
 * the SCEP spool (SCEP_SPOOL_DIR, group SCEP_GROUP, made and checked like
 * SPOOL_DIR), its watcher and sweeper (the MyProxy spool's own code), the
 * workflow service and the operators' order queue.
 */
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import type { Account } from '../../launch/account.js';
import { lockOwnerAlive, lookupGroup } from '../proc.js';
import { prepareSpool } from '../spool/spool-dirs.js';
import { SpoolSweeper } from '../spool/sweeper.js';
import { SpoolWatcher } from '../spool/watcher.js';
import { ScepOrders } from './scep-orders.js';
import { ScepService, type ScepServiceDeps } from './scep-service.js';

const RESCAN_MS = 2000;

export interface ScepPath {
  start(): void;
  stop(): void;
  readonly inFlight: number;
}

export type ScepSetup = Omit<ScepServiceDeps, 'layout' | 'gid'> & { readonly hookAccount: Account };

export function openScep(setup: ScepSetup): ScepPath | null {
  const { config, log } = setup;
  if (!config.scepEnable) return null;
  const gid = lookupGroup(config.scepGroup);
  if (gid === null) throw new EtokenError(ExitCode.config, `${config.file}: SCEP_GROUP: no such group "${config.scepGroup}" (SCEP_ENABLE=yes)`);
  const layout = prepareSpool(config.scepSpoolDir, gid);
  const service = new ScepService({ ...setup, layout, gid });
  const orders = new ScepOrders(setup, service);
  const sweeper = new SpoolSweeper(layout, (config.scepAnswerWait + 10) * 1000, {
    ownerAlive: lockOwnerAlive,
    inFlight: (id) => service.isInFlight(id),
    now: setup.clock,
    log: (event, details) => log.info({ event, spool: 'scep', ...details }, event),
  });
  const watcher = new SpoolWatcher({
    layout,
    rescanMs: RESCAN_MS,
    onLock: (id) => service.onLock(id),
    onRescan: (names) => sweeper.sweep(names),
    onProblem: (message) => log.warn({ event: 'spool.watch', spool: 'scep' }, message),
  });
  return {
    start: () => {
      watcher.start();
      service.start();
      orders.start();
      log.info({ event: 'scep.order', spool: config.scepSpoolDir, queue: config.scepQueueDir }, 'SCEP spool and order queue watched');
    },
    stop: () => {
      watcher.stop();
      orders.stop();
      service.stop();
    },
    get inFlight() {
      return service.inFlight;
    },
  };
}
