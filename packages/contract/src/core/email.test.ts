import { describe, expect, it } from 'vitest';
import { checkEmailAddress } from './email.js';

describe('checkEmailAddress', () => {
  it.each(['a@example.org', "o'neil+x@mail.example.co.uk", 'first.last@a-b.example', `${'l'.repeat(64)}@example.org`])('accepts %s', (address) => {
    expect(() => checkEmailAddress(address)).not.toThrow();
  });

  it.each([
    ['', /has no @/],
    ['a@b', /invalid domain/],
    ['a@example.123', /numeric top-level domain/],
    ['a@-example.org', /invalid domain/],
    ['a@exa_mple.org', /invalid domain/],
    ['@example.org', /invalid local part/],
    ['.a@example.org', /invalid local part/],
    ['a.@example.org', /invalid local part/],
    [`${'l'.repeat(65)}@example.org`, /invalid local part/],
    ['"a b"@example.org', /not printable ASCII/],
    ['a(comment)@example.org', /invalid local part/],
    ['a@b@example.org', /invalid local part/],
    ['Jane <a@example.org>', /not printable ASCII/],
    [`a@${'x'.repeat(64)}.org`, /invalid domain/],
  ])('refuses %j', (address, reason) => {
    expect(() => checkEmailAddress(address)).toThrow(reason);
  });
});
