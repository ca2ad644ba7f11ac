/**
 * The directories the configuration names, with the owners and modes of
 * the design. The CA directory, the CRL directory, the revocation queue and
 * the pid file's directory are created when missing and otherwise left as they are (the self-audit
 * says when they are unsafe); the spool directories always get their exact
 * owners and modes, as the server itself gives them at start-up.
 */
import { dirname } from 'node:path';
import type { Config } from '@etoken-ca/contract/core/config';
import { ANSWERS_MODE, INCOMING_MODE, spoolLayout } from '@etoken-ca/contract/core/spool';
import { putRootDir, type Change } from './root-files.js';

export interface DirChange {
  readonly path: string;
  readonly change: Change;
}

export function ensureStateDirs(config: Config, dryRun: boolean): DirChange[] {
  const keep = (path: string, mode: number): DirChange => ({ path, change: putRootDir(path, mode, dryRun, true) });
  return [keep(config.caDir, 0o700), keep(config.crlDir, 0o755), keep(config.revokeQueueDir, 0o700), keep(dirname(config.pidFile), 0o755)];
}

export function ensureSpoolDirs(spoolDir: string, clientGid: number, dryRun: boolean): DirChange[] {
  const layout = spoolLayout(spoolDir);
  const group = { uid: 0, gid: clientGid };
  return [
    { path: layout.root, change: putRootDir(layout.root, 0o755, dryRun) },
    { path: layout.incoming, change: putRootDir(layout.incoming, INCOMING_MODE, dryRun, false, group) },
    { path: layout.answers, change: putRootDir(layout.answers, ANSWERS_MODE, dryRun, false, group) },
  ];
}
