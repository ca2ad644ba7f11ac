/**
 * The subject and email addresses a MyProxy request asks for, from its
 * username and DN_FORMAT: the parser derives them, the supervisor derives
 * them again to check what the parser says, and the client checks the
 * certificate it gets against them. Pure string rules (username.ts, dn.ts):
 * no ASN.1.
 */
import { composeSubject, type DnFormat, type Rdn } from './dn.js';
import { splitUsername } from './username.js';

export interface RequestedName {
  readonly subject: readonly Rdn[];
  readonly emails: readonly string[];
}

export function requestedName(username: string, format: DnFormat): RequestedName {
  const { dn, emails } = splitUsername(username);
  return { subject: composeSubject(format, dn), emails };
}
