/**
 * The names a SCEP certificate may carry besides its subject: dNSName
 * patterns (`host.example.org`, `*.example.org` where `*` stands for one
 * or more whole labels) and iPAddress ranges (CIDR). Pure string and byte
 * rules, shared by the config parser, the supervisor's policy and the
 * signer's check of what it signs.
 */
import { fail } from '../config-values.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS name as a certificate may hold it: lowercase LDH labels, no trailing dot, at most 253 characters. */
export function isDnsName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

export function parseDnsPattern(raw: string): string {
  const pattern = raw.toLowerCase();
  const fixed = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  return isDnsName(fixed) && fixed.includes('.') ? pattern : fail(`"${raw}" is not a DNS name or *.domain pattern`);
}

export function dnsNameAllowed(patterns: readonly string[], name: string): boolean {
  const lower = name.toLowerCase();
  if (lower !== name || !isDnsName(name)) return false;
  return patterns.some((p) => (p.startsWith('*.') ? name.endsWith(p.slice(1)) && name.length > p.length - 1 : name === p));
}

export interface IpRange {
  /** The network's address bytes (4 or 16). */
  readonly network: readonly number[];
  readonly prefix: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

/** Address bytes of a textual IPv4 or IPv6 address (no zone, no embedded IPv4); null when it is neither. */
export function ipBytes(text: string): number[] | null {
  if (IPV4.test(text)) return text.split('.').map(Number);
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return null;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  if (!all.every((g) => HEX_GROUP.test(g))) return null;
  return all.flatMap((g) => {
    const word = parseInt(g, 16);
    return [word >> 8, word & 0xff];
  });
}

export function parseIpRange(raw: string): IpRange {
  const [address, bits, extra] = raw.split('/');
  const network = address === undefined ? null : ipBytes(address);
  if (network === null || extra !== undefined) fail(`"${raw}" is not an address or address/prefix`);
  const prefix = bits === undefined ? network.length * 8 : /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
  if (prefix < 0 || prefix > network.length * 8) fail(`"${raw}" has a bad prefix length`);
  return { network, prefix };
}

export function ipAllowed(ranges: readonly IpRange[], address: readonly number[]): boolean {
  return ranges.some(({ network, prefix }) => {
    if (network.length !== address.length) return false;
    for (let bit = 0; bit < prefix; bit++) {
      const mask = 0x80 >> bit % 8;
      if ((network[bit >> 3]! & mask) !== (address[bit >> 3]! & mask)) return false;
    }
    return true;
  });
}

/** The text form of address bytes, for logs and listings. */
export function ipText(address: readonly number[]): string {
  if (address.length === 4) return address.join('.');
  const words = [];
  for (let i = 0; i < address.length; i += 2) words.push(((address[i]! << 8) | address[i + 1]!).toString(16));
  return words.join(':');
}
