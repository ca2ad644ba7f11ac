/**
 * sysconfig/etoken-ca, the documented example config: the product's own
 * parser accepts it as shipped and with every example line switched on, and
 * it documents every key the parser knows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, parseConfig } from '@etoken-ca/contract/core/config';

const FILE = join(import.meta.dirname, '../../sysconfig/etoken-ca');
const text = readFileSync(FILE, 'utf8');
const KEY_LINE = /^#?([A-Z][A-Z0-9_]*)=/gm;

describe('sysconfig/etoken-ca', () => {
  it('asks for DN_FORMAT as shipped, and parses once it is set', () => {
    expect(() => parseConfig(text, FILE)).toThrow(`${FILE}: DN_FORMAT: missing: it has no default and must be set`);
    expect(parseConfig(`${text}DN_FORMAT=/DC=org/DC=example%s\n`, FILE).namespace).toEqual(['/DC=org/DC=example/*']);
  });

  it('parses with every documented line uncommented', () => {
    const uncommented = text.replace(/^#([A-Z][A-Z0-9_]*=)/gm, '$1');
    const config = parseConfig(uncommented, FILE);
    expect(config.caOids.length).toBeGreaterThan(0);
    expect(config.crlUrls.length).toBeGreaterThan(0);
    expect(config.namespace).toEqual(['/DC=org/DC=example/*']);
  });

  it('documents each key exactly once, and no other', () => {
    const documented = [...text.matchAll(KEY_LINE)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...CONFIG_KEYS].sort());
  });
});
