import { describe, expect, it } from 'vitest';
import { bitString, ia5String, integerFromContent, oid, printableString, sequence, setOf, smallInteger, time, tlv, unsignedInteger } from './der.js';
import { childrenOf, decodeOid, decodeTime, readElement } from './der-reader.js';

const hex = (b: Buffer): string => b.toString('hex');

describe('DER writer', () => {
  it('writes short and long lengths', () => {
    expect(hex(tlv(0x04, Buffer.alloc(3)))).toBe('0403000000');
    expect(hex(tlv(0x04, Buffer.alloc(200)).subarray(0, 3))).toBe('0481c8');
    expect(hex(tlv(0x04, Buffer.alloc(70000)).subarray(0, 5))).toBe('0483011170');
  });

  it('concatenates pre-encoded parts without re-encoding them', () => {
    const parts = Array.from({ length: 1000 }, (_, i) => smallInteger(i));
    const encoded = sequence(...parts);
    expect(childrenOf(encoded, readElement(encoded))).toHaveLength(1000);
  });

  it('encodes OIDs, round-trips them and caches them', () => {
    expect(hex(oid('1.2.840.113549.1.1.11'))).toBe('06092a864886f70d01010b');
    expect(hex(oid('2.999.3'))).toBe('0603883703');
    expect(oid('2.5.29.19')).toBe(oid('2.5.29.19'));
    expect(decodeOid(oid('1.3.6.1.4.1.99999.1').subarray(2))).toBe('1.3.6.1.4.1.99999.1');
    expect(() => oid('1.40.1')).toThrow(/not an OID/);
    expect(() => oid('x')).toThrow(/not an OID/);
  });

  it('encodes integers minimally', () => {
    expect(hex(smallInteger(0))).toBe('020100');
    expect(hex(smallInteger(128))).toBe('02020080');
    expect(hex(unsignedInteger(Buffer.from('0000ff', 'hex')))).toBe('020200ff');
    expect(hex(unsignedInteger(Buffer.from('00007f', 'hex')))).toBe('02017f');
    expect(hex(integerFromContent(Buffer.from('00ff', 'hex')))).toBe('020200ff');
  });

  it('sorts SET OF members', () => {
    expect(hex(setOf(smallInteger(2), smallInteger(1)))).toBe('3106020101020102');
  });

  it('writes UTCTime until 2049 and GeneralizedTime from 2050', () => {
    expect(time(Date.UTC(2049, 11, 31, 23, 59, 59)).toString('latin1', 2)).toBe('491231235959Z');
    expect(time(Date.UTC(2050, 0, 1)).toString('latin1', 2)).toBe('20500101000000Z');
    expect(time(Date.UTC(2050, 0, 1))[0]).toBe(0x18);
    for (const ms of [Date.UTC(1999, 5, 1, 2, 3, 4), Date.UTC(2049, 0, 1), Date.UTC(2077, 6, 4)]) {
      const encoded = time(ms);
      expect(decodeTime(encoded, readElement(encoded))).toBe(ms);
    }
  });

  it('spells every second of any day as ISO 8601 does, in whole seconds', () => {
    for (let i = 0; i < 2000; i++) {
      const ms = Date.UTC(1950, 0, 1) + Math.floor(Math.random() * (Date.UTC(2200, 0, 1) - Date.UTC(1950, 0, 1)));
      const iso = new Date(ms).toISOString();
      const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
      expect(time(ms).toString('latin1', 2)).toBe(ms < Date.UTC(2050, 0, 1) ? digits.slice(2) : digits);
    }
    expect(() => time(Date.UTC(1949, 11, 31, 23, 59, 59))).toThrow(/out of range/);
    expect(() => time(Number.NaN)).toThrow(/out of range/);
  });

  it('refuses non-ASCII in ASCII string types instead of mangling it', () => {
    expect(() => ia5String('a\u0140b.org')).toThrow(/ASCII/);
    expect(() => printableString('caf\u00e9')).toThrow(/ASCII/);
  });

  it('writes BIT STRINGs with their unused-bit count', () => {
    expect(hex(bitString(Buffer.of(0x86), 1))).toBe('03020186');
  });
});

describe('DER reader', () => {
  it('refuses truncated and over-long elements', () => {
    expect(() => readElement(Buffer.from('3005020101', 'hex'))).toThrow(/longer than its container/);
    expect(() => readElement(Buffer.from('30', 'hex'))).toThrow(/truncated/);
    expect(() => readElement(Buffer.from('1f0100', 'hex'))).toThrow(/multi-byte tag/);
    expect(() => readElement(Buffer.from('308500000000000', 'hex'))).toThrow();
  });
});
