/**
 * The `scep` field of a certificate request to the signer: present only for
 * a request from the SCEP spool, naming the host names and addresses of the
 * SCEP profile. Read as strictly as every other field; whether the names
 * are allowed is the signer's profile check.
 */
import type { ScepNames } from '@etoken-ca/x509/scep-profile';
import type { MessageFields } from './fields.js';

const MAX_NAMES = 100;
const MAX_DNS_NAME = 253;
/** The longest textual IPv6 address. */
const MAX_ADDRESS = 45;

const text = (max: number) => (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);

export function readScepNames(f: MessageFields, value: unknown): ScepNames | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return f.fail('has a malformed scep field');
  const keys = Object.keys(value).sort().join(',');
  if (keys !== 'dnsNames,ipAddresses') return f.fail('has a scep field with unexpected keys');
  const { dnsNames, ipAddresses } = value as Record<string, unknown>;
  const list = (items: unknown, max: number): string[] => {
    if (!Array.isArray(items) || items.length > MAX_NAMES) return f.fail('has a scep name list that is too long or not a list');
    return items.map((item) => text(max)(item) ?? f.fail('has a malformed scep name'));
  };
  return { dnsNames: list(dnsNames, MAX_DNS_NAME), ipAddresses: list(ipAddresses, MAX_ADDRESS) };
}
