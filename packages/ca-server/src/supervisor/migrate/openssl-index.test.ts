import { describe, expect, it } from 'vitest';
import { parseHexCounter, parseOpensslIndex } from './openssl-index.js';

describe('parseOpensslIndex', () => {
  it('reads valid, expired and revoked lines, with the reason spellings openssl ca -crl_compromise and -crl_hold write', () => {
    const text = [
      'V\t301231235959Z\t\t01\tunknown\t/O=Example/CN=A',
      'E\t200101000000Z\t\t02\tunknown\t/O=Example/CN=B',
      'R\t301231235959Z\t240101000000Z,keyTime,20231231000000Z\t03\tunknown\t/O=Example/CN=C',
      'R\t301231235959Z\t240101000000Z,certificateHold,1.2.840.10040.2.2\t0A\tunknown\t/O=Example/CN=D',
      'R\t301231235959Z\t240101000000Z,holdInstruction,holdInstructionReject\t0B\tunknown\t/O=Example/CN=E',
      '',
    ].join('\n');
    const entries = parseOpensslIndex(text, 'index.txt');
    expect(entries.map((e) => [e.serial, e.status, e.reason])).toEqual([
      ['01', 'V', undefined],
      ['02', 'E', undefined],
      ['03', 'R', 'keyCompromise'],
      ['0A', 'R', 'certificateHold'],
      ['0B', 'R', 'certificateHold'],
    ]);
    expect(entries[2]!.compromisedAt).toBe(Date.UTC(2023, 11, 31));
  });

  it('refuses malformed lines and repeated serials, naming the line', () => {
    expect(() => parseOpensslIndex('V\tnonsense\n', 'index.txt')).toThrow('index.txt:1:');
    const twice = 'V\t301231235959Z\t\t01\tunknown\t/CN=A\nV\t301231235959Z\t\t01\tunknown\t/CN=B\n';
    expect(() => parseOpensslIndex(twice, 'index.txt')).toThrow('index.txt:2: serial 01 appears twice');
  });
});

describe('parseHexCounter', () => {
  it('reads the next number', () => {
    expect(parseHexCounter('1A\n', 'crlnumber')).toBe(26n);
    expect(() => parseHexCounter('zz', 'crlnumber')).toThrow('crlnumber: not a hex number');
  });
});
