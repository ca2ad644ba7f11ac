/**
 * etoken-ca-scep runs as SCEP_USER and nothing else: never as root, never as
 * the MyProxy account, never as the CA's own accounts. The name of the
 * account it runs as comes from the password database (getent).
 */
import { execFileSync } from 'node:child_process';
import type { Config } from '@etoken-ca/contract/core/config';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';

function accountName(uid: number): string | null {
  try {
    return execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8', env: {} }).split(':')[0] ?? null;
  } catch {
    return null;
  }
}

export function checkOwnAccount(config: Config): void {
  const uid = process.getuid?.() ?? -1;
  if (uid === 0) throw new EtokenError(ExitCode.noPermission, 'etoken-ca-scep must not run as root: run it as SCEP_USER (systemd/etoken-ca-scep.service does)');
  const name = accountName(uid);
  if (name !== config.scepUser) {
    throw new EtokenError(ExitCode.noPermission, `etoken-ca-scep runs as ${name ?? `uid ${uid}`}, but ${config.file} says SCEP_USER=${config.scepUser}`);
  }
  const forbidden = [config.clientGroup, config.caUser, config.parserUser, config.hookUser];
  if (forbidden.includes(config.scepUser)) {
    throw new EtokenError(ExitCode.config, `${config.file}: SCEP_USER must be an account of its own, not ${config.scepUser}`);
  }
}
