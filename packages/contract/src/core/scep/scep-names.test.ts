import { describe, expect, it } from 'vitest';
import { dnsNameAllowed, ipAllowed, ipBytes, ipText, parseDnsPattern, parseIpRange } from './scep-names.js';

describe('dNSName patterns', () => {
  const patterns = ['host.example.org', '*.grid.example.org'].map(parseDnsPattern);

  it('takes a name itself, and any host below a *. domain, never the domain itself', () => {
    expect(dnsNameAllowed(patterns, 'host.example.org')).toBe(true);
    expect(dnsNameAllowed(patterns, 'ce1.grid.example.org')).toBe(true);
    expect(dnsNameAllowed(patterns, 'a.b.grid.example.org')).toBe(true);
    expect(dnsNameAllowed(patterns, 'grid.example.org')).toBe(false);
    expect(dnsNameAllowed(patterns, 'evilgrid.example.org')).toBe(false);
    expect(dnsNameAllowed(patterns, 'other.example.org')).toBe(false);
  });

  it('refuses names that are not lowercase LDH labels', () => {
    expect(dnsNameAllowed(patterns, 'HOST.example.org')).toBe(false);
    expect(dnsNameAllowed(patterns, 'x_y.grid.example.org')).toBe(false);
    expect(dnsNameAllowed(patterns, 'ce1.grid.example.org.')).toBe(false);
    expect(dnsNameAllowed(patterns, '-a.grid.example.org')).toBe(false);
  });

  it('refuses patterns that are not a name or *.domain', () => {
    expect(() => parseDnsPattern('*')).toThrow();
    expect(() => parseDnsPattern('*.org')).toThrow();
    expect(() => parseDnsPattern('a.*.org')).toThrow();
    expect(parseDnsPattern('Host.Example.org')).toBe('host.example.org');
  });
});

describe('iPAddress ranges', () => {
  it('reads IPv4 and IPv6 addresses, and nothing else', () => {
    expect(ipBytes('192.0.2.7')).toEqual([192, 0, 2, 7]);
    expect(ipBytes('2001:db8::1')).toEqual([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1]);
    expect(ipBytes('::')).toEqual(Array(16).fill(0));
    for (const bad of ['192.0.2', '256.0.0.1', '1::2::3', '12345::', '1:2:3:4:5:6:7', 'host']) expect(ipBytes(bad)).toBeNull();
  });

  it('matches addresses inside a prefix of the same family only', () => {
    const ranges = ['192.0.2.0/24', '2001:db8::/32', '198.51.100.9'].map(parseIpRange);
    expect(ipAllowed(ranges, ipBytes('192.0.2.200')!)).toBe(true);
    expect(ipAllowed(ranges, ipBytes('192.0.3.1')!)).toBe(false);
    expect(ipAllowed(ranges, ipBytes('2001:db8:ffff::5')!)).toBe(true);
    expect(ipAllowed(ranges, ipBytes('2001:db9::5')!)).toBe(false);
    expect(ipAllowed(ranges, ipBytes('198.51.100.9')!)).toBe(true);
    expect(ipAllowed(ranges, ipBytes('198.51.100.10')!)).toBe(false);
    expect(ipText(ipBytes('2001:db8::1')!)).toBe('2001:db8:0:0:0:0:0:1');
  });

  it('refuses bad prefixes', () => {
    expect(() => parseIpRange('192.0.2.0/33')).toThrow();
    expect(() => parseIpRange('192.0.2.0/24/1')).toThrow();
    expect(() => parseIpRange('example.org/24')).toThrow();
  });
});
