/**
 * The subject and email addresses a MyProxy request asks for, from its
 * username, DN_FORMAT and the CA's namespace: the parser derives them, the
 * supervisor derives them again to check what the parser says, and the
 * client refuses before spooling what the server would refuse and checks
 * the certificate it gets against them. Pure string rules (username.ts,
 * dn.ts, namespace.ts): no ASN.1.
 */
import type { Config } from './config.js';
import { composeSubject, onelineDn, type Rdn } from './dn.js';
import { badRequest } from './exit-codes.js';
import { inNamespace } from './namespace.js';
import { splitUsername } from './username.js';

export interface RequestedName {
  readonly subject: readonly Rdn[];
  readonly emails: readonly string[];
}

/** Throws EtokenError (65) for a username the rules refuse, or whose subject falls outside the namespace. */
export function requestedName(username: string, config: Pick<Config, 'dnFormat' | 'namespace'>): RequestedName {
  const { dn, emails } = splitUsername(username);
  const subject = composeSubject(config.dnFormat, dn);
  if (!inNamespace(config.namespace, subject)) throw badRequest(`subject ${onelineDn(subject)} outside the CA namespace`);
  return { subject, emails };
}
