/**
 * The SCEP part of the self-audit, when SCEP_ENABLE=yes: its account is a
 * real, unprivileged account of its own; its group exists; the RA key, once
 * made, is the SCEP account's alone (0600). A missing RA key or certificate
 * is no problem of the server's (it issues them: scep issue-ra-cert);
 * etoken-ca-scep refuses to start without them. The SCEP spool and the
 * order queue are checked with the other directories.
 */
import type { Config } from '@etoken-ca/contract/core/config';
import { lookupGroup, lookupUser } from '../proc.js';
import { factsOf } from './path-facts.js';

export interface ScepAccounts {
  /** SCEP_GROUP's gid, for the spool's check; null when SCEP is off or the group is missing. */
  readonly gid: number | null;
  readonly problems: readonly string[];
}

export function scepAudit(config: Config): ScepAccounts {
  if (!config.scepEnable) return { gid: null, problems: [] };
  const problems: string[] = [];
  const account = lookupUser(config.scepUser);
  if (!account) problems.push(`SCEP_USER: no such user "${config.scepUser}" (etoken-ca-server install creates it)`);
  else if (account.uid === 0) problems.push(`SCEP_USER: "${config.scepUser}" is root; it must be an unprivileged account`);
  const others = new Map([
    [config.caUser, 'CA_USER'],
    [config.parserUser, 'PARSER_USER'],
    [config.hookUser, 'HOOK_USER'],
    [config.clientGroup, 'the MyProxy account (CLIENT_GROUP)'],
  ]);
  const clash = others.get(config.scepUser);
  if (clash) problems.push(`SCEP_USER: "${config.scepUser}" is also ${clash}; the SCEP front end needs an account of its own`);
  const gid = lookupGroup(config.scepGroup);
  if (gid === null) problems.push(`SCEP_GROUP: no such group "${config.scepGroup}"`);
  const key = factsOf(config.scepRaKey);
  if (key && (key.type !== 'file' || (account && key.uid !== account.uid) || (key.mode & 0o077) !== 0)) {
    problems.push(`SCEP_RA_KEY ${config.scepRaKey}: must be a file owned by ${config.scepUser} with mode 0600`);
  }
  return { gid, problems };
}
