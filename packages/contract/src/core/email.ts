/**
 * An email address for an rfc822Name subjectAltName: the RFC 5321/5322
 * addr-spec subset mail systems deliver to (dot-atom local part, hostname
 * domain), ASCII only. Hand-written: the rules fit in a few lines and no
 * installed library checks them without also accepting display names,
 * comments or quoted strings.
 */
import { badRequest } from './exit-codes.js';
import { printable } from './dn.js';

const MAX_ADDRESS = 254;
const MAX_LOCAL_PART = 64;
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function checkEmailAddress(address: string): void {
  const fail = (why: string): never => {
    throw badRequest(`email address "${printable(address)}" ${why}`);
  };
  if (address.length > MAX_ADDRESS) fail(`longer than ${MAX_ADDRESS} characters`);
  if (/[^\x21-\x7e]/.test(address)) fail('is not printable ASCII');
  const at = address.lastIndexOf('@');
  if (at < 0) fail('has no @');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length === 0 || local.length > MAX_LOCAL_PART || !DOT_ATOM.test(local)) fail('has an invalid local part');
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) fail('has an invalid domain');
  if (/^\d+$/.test(labels[labels.length - 1]!)) fail('has a numeric top-level domain');
}
