import { describe, expect, it } from 'vitest';
import { compileDnFormat, composeSubject, onelineDn, parseSlashDn } from './dn.js';

const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

describe('parseSlashDn', () => {
  it('parses single-valued RDNs with canonical type names', () => {
    expect(parseSlashDn('/DC=org/dc=example/O=Example/CN=John Doe')).toEqual([
      { type: 'DC', value: 'org' },
      { type: 'DC', value: 'example' },
      { type: 'O', value: 'Example' },
      { type: 'CN', value: 'John Doe' },
    ]);
  });

  it.each([
    ['no leading slash', 'CN=x', /does not start/],
    ['multi-valued', '/CN=a+UID=b', /'\/', '\+'/],
    ['escape', '/CN=a\\/b', /'\/', '\+' or '\\'/],
    ['unknown type', '/title=boss', /not allowed/],
    ['empty value', '/CN=', /empty CN/],
    ['double slash', '/O=a//CN=b', /malformed RDN/],
    ['trailing slash', '/O=a/', /malformed RDN/],
    ['newline', '/CN=a\nb', /control character/],
    ['C1 control', '/CN=a\u0085b', /control character/],
    ['line separator', '/CN=a\u2028b', /control character/],
    ['too long', `/CN=${'x'.repeat(65)}`, /longer than 64/],
    ['bad country', '/C=nl', /country code/],
    ['non-ASCII DC', '/DC=exämple', /not ASCII/],
    ['leading space', '/CN= x', /leading or trailing space/],
  ])('refuses %s', (_name, dn, why) => {
    expect(reason(() => parseSlashDn(dn))).toMatch(why);
  });

  it('counts characters, not bytes, against the bound', () => {
    expect(parseSlashDn(`/CN=${'é'.repeat(64)}`)).toHaveLength(1);
  });
});

describe('DN_FORMAT', () => {
  it('splices whole RDNs when %s stands at an RDN boundary', () => {
    const f = compileDnFormat('/DC=org/DC=example%s');
    expect(f.mode).toBe('rdns');
    expect(onelineDn(composeSubject(f, '/O=Example/CN=Jane'))).toBe('/DC=org/DC=example/O=Example/CN=Jane');
    expect(reason(() => composeSubject(f, '/O=Example/CN=Jane+UID=x'))).toMatch(/inside CN/);
  });

  it('inserts plain text, never re-parsed, when %s sits inside a value', () => {
    const f = compileDnFormat('/O=Grid/CN=%s');
    expect(f.mode).toBe('value');
    expect(composeSubject(f, '/O=Evil/CN=Root')).toEqual([
      { type: 'O', value: 'Grid' },
      { type: 'CN', value: '/O=Evil/CN=Root' },
    ]);
    expect(reason(() => composeSubject(f, 'a\tb'))).toMatch(/control character/);
  });

  it('treats a bare %s as the whole DN', () => {
    expect(composeSubject(compileDnFormat('%s'), '/O=x/CN=y')).toHaveLength(2);
  });

  it('refuses formats without exactly one %s or with other directives', () => {
    expect(reason(() => compileDnFormat('/O=x'))).toMatch(/exactly once/);
    expect(reason(() => compileDnFormat('/O=%s/CN=%s'))).toMatch(/exactly once/);
    expect(reason(() => compileDnFormat('/O=%d%s'))).toMatch(/directive/);
    expect(compileDnFormat('/O=100%%/CN=%s').before).toEqual([{ type: 'O', value: '100%' }]);
  });
});

describe('onelineDn', () => {
  it('writes non-ASCII bytes as \\xHH, as X509_NAME_oneline does', () => {
    expect(onelineDn([{ type: 'CN', value: 'José' }])).toBe('/CN=Jos\\xC3\\xA9');
  });
});
