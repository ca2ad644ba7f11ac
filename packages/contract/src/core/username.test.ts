import { describe, expect, it } from 'vitest';
import { splitUsername } from './username.js';

describe('splitUsername', () => {
  it('returns a username without attributes as the DN', () => {
    expect(splitUsername('/DC=org/O=Example/CN=John Doe')).toEqual({ dn: '/DC=org/O=Example/CN=John Doe', emails: [] });
  });

  it('splits email= and namespaced attributes off the DN', () => {
    expect(splitUsername('/O=Example/CN=John Doe email=jdoe@example.org info:key=value')).toEqual({
      dn: '/O=Example/CN=John Doe',
      emails: ['jdoe@example.org'],
    });
  });

  it('does not split at a token that only contains =', () => {
    expect(splitUsername('/O=Example Inc/CN=John').dn).toBe('/O=Example Inc/CN=John');
  });

  it('does not treat a username that starts with an attribute as one', () => {
    expect(splitUsername('email=x@example.org').dn).toBe('email=x@example.org');
  });

  it('keeps eight distinct addresses, in order, and drops repeats', () => {
    const addresses = Array.from({ length: 8 }, (_, i) => `u${i}@example.org`);
    const username = `/CN=x ${[...addresses, addresses[0]].map((a) => `email=${a}`).join(' ')}`;
    expect(splitUsername(username).emails).toEqual(addresses);
  });

  it.each([
    ['/CN=John email=j@example.org/CN=Admin', /invalid domain/],
    ['/CN=John x=y', /attribute "x" not allowed/],
    ['/CN=John email=j@example.org tail', /"tail" is not name=value/],
    ['/CN=John email=j@example.org ', /"" is not name=value/],
    ['/CN=John ns:x=1', /namespace "ns" not allowed/],
    ['/CN=John info:x=\u0000', /control character/],
    [`/CN=John${' info:a=b'.repeat(33)}`, /more than 32 attributes/],
  ])('refuses %j', (username, reason) => {
    expect(() => splitUsername(username)).toThrow(reason);
  });
});
