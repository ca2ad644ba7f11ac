import { describe, expect, it } from 'vitest';
import { isCanonicalDer } from './canonical-der.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s/g, ''), 'hex');

describe('isCanonicalDer', () => {
  it.each([
    ['a SEQUENCE of INTEGER, BOOLEAN, NULL, OID and BIT STRING', '3012 020100 0101ff 0500 06032a0304 0303040a50'],
    ['a long INTEGER with a needed leading zero', '3004 020200ff'],
    ['empty SEQUENCE and SET, context tags', '3008 3000 3100 a002 0500'],
  ])('accepts %s', (_, der) => expect(isCanonicalDer(hex(der))).toBe(true));

  it.each([
    ['a long-form length for a short content', '308103 020100'],
    ['a length with a leading zero octet', '30820003 020100'],
    ['trailing bytes', '3003020100 00'],
    ['two top-level elements', '3000 3000'],
    ['an INTEGER with a superfluous leading zero', '3004 02020001'],
    ['an INTEGER with a superfluous leading FF', '3004 0202ff80'],
    ['an empty INTEGER', '3002 0200'],
    ['BOOLEAN true as 01', '3003 010101'],
    ['NULL with content', '3003 050100'],
    ['an OID arc starting with 0x80', '3005 0603 2a8001'],
    ['BIT STRING padding bits set', '3004 03020401'],
    ['a constructed OCTET STRING (BER)', '3006 2404 04020102'],
    ['a SEQUENCE in primitive form', '3002 1000'],
    ['an element longer than its container', '3003 020500'],
  ])('refuses %s', (_, der) => expect(isCanonicalDer(hex(der))).toBe(false));

  it('refuses deep nesting without overflowing the stack', () => {
    const depth = 100_000;
    const open = Buffer.alloc(depth * 2);
    for (let i = 0; i < depth; i++) open.set([0x30, 0x80], i * 2);
    expect(isCanonicalDer(open)).toBe(false);
  });
});
