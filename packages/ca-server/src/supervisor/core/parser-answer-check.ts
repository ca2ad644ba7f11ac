/**
 * What the supervisor checks of the parser's answer, the way OpenSSH's
 * monitor checks its unprivileged child: the parser reads hostile bytes and
 * may have been taken over by them, so nothing it says is taken on trust.
 * The text of the request (username, lifetimes) is read again here with the
 * contract's strict, pure string rules, and the subject, emails and
 * lifetimes must come out the same; the key must be one the CSR's own bytes
 * carry. Only the CSR's ASN.1 and its signature are the parser's alone.
 * Pure.
 */
import type { Config } from '@etoken-ca/contract/core/config';
import type { Rdn } from '@etoken-ca/contract/core/dn';
import { parseRequest } from '@etoken-ca/contract/core/request';
import { requestedName } from '@etoken-ca/contract/core/request-name';
import type { ParsedRequest } from '@etoken-ca/protocol/parser-messages';

const sameRdns = (a: readonly Rdn[], b: readonly Rdn[]): boolean => a.length === b.length && a.every((rdn, i) => rdn.type === b[i]!.type && rdn.value === b[i]!.value);
const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((item, i) => item === b[i]);

/** Where the parser's answer departs from the request, or null when it holds. */
export function parserAnswerProblem(request: Buffer, fields: ParsedRequest, config: Config): string | null {
  let text: ReturnType<typeof parseRequest>;
  let expected: ReturnType<typeof requestedName>;
  try {
    text = parseRequest(request);
    expected = requestedName(text.username, config);
  } catch (e) {
    return `it accepted a request the contract refuses (${(e as Error).message})`;
  }
  if (!sameRdns(fields.subject, expected.subject)) return 'its subject is not the one the username gives';
  if (!sameList(fields.emails, expected.emails)) return 'its email addresses are not the username\'s';
  if (fields.proxyLifetime !== text.proxyLifetime || fields.maxCertLifetime !== text.maxCertLifetime) return 'its lifetimes are not the request\'s';
  if (text.csrDer.indexOf(fields.spki) < 0) return 'its public key is not in the CSR';
  return null;
}
