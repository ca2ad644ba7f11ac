import { describe, expect, it } from 'vitest';
import { normalizeSerial, randomSerial, serialIntegerContent, toSerialHex } from './serial.js';

describe('serials', () => {
  it('spells serials as OpenSSL does: uppercase, whole bytes, no leading 00', () => {
    expect(toSerialHex(Buffer.from('00000a0b', 'hex'))).toBe('0A0B');
    expect(toSerialHex(Buffer.alloc(16))).toBeNull();
    expect(normalizeSerial('0x0a:0B')).toBe('0A0B');
    expect(normalizeSerial('abc')).toBe('0ABC');
    expect(normalizeSerial('xyz')).toBeNull();
  });

  it('encodes a minimal positive INTEGER', () => {
    expect(serialIntegerContent('80').toString('hex')).toBe('0080');
    expect(serialIntegerContent('7F01').toString('hex')).toBe('7f01');
  });

  it('makes random non-zero serials of at most 16 bytes', () => {
    for (let i = 0; i < 200; i++) {
      const s = randomSerial();
      expect(s).toMatch(/^([0-9A-F]{2}){1,16}$/);
      expect(s.startsWith('00')).toBe(false);
    }
  });
});
