import { describe, expect, it } from 'vitest';
import { formatIndexLine, parseIndexLine } from './index-line.js';

const T = Date.UTC(2026, 10, 24, 12, 0, 0);
const revoked = { serial: '0A1B', status: 'R' as const, notAfter: T, revokedAt: T, subject: '/O=x/CN=y' };

describe('index.txt revocation fields in openssl ca spelling', () => {
  it('writes and reads a key or CA compromise time as keyTime / CAkeyTime with a GeneralizedTime', () => {
    const key = { ...revoked, reason: 'keyCompromise' as const, compromisedAt: Date.UTC(2026, 10, 20, 8, 30, 15) };
    expect(formatIndexLine(key)).toBe('R\t261124120000Z\t261124120000Z,keyTime,20261120083015Z\t0A1B\tunknown\t/O=x/CN=y\n');
    expect(parseIndexLine(formatIndexLine(key).trimEnd())).toEqual(key);
    const ca = { ...revoked, reason: 'CACompromise' as const, compromisedAt: Date.UTC(2051, 0, 2, 3, 4, 5) };
    expect(formatIndexLine(ca)).toContain('\t261124120000Z,CAkeyTime,20510102030405Z\t');
    expect(parseIndexLine(formatIndexLine(ca).trimEnd())).toEqual(ca);
  });

  it('writes a compromise time only for keyCompromise and CACompromise', () => {
    expect(formatIndexLine({ ...revoked, reason: 'superseded', compromisedAt: T })).toContain('\t261124120000Z,superseded\t');
  });

  it('reads what openssl ca writes for the other reasons, a hold instruction included, and refuses a keyTime without its time', () => {
    expect(parseIndexLine('R\t261124120000Z\t261124120000Z,keyCompromise\t0A\tunknown\t/CN=x')).toMatchObject({ reason: 'keyCompromise' });
    expect(parseIndexLine('R\t261124120000Z\t261124120000Z,keyCompromise\t0A\tunknown\t/CN=x')).not.toHaveProperty('compromisedAt');
    expect(parseIndexLine('R\t261124120000Z\t261124120000Z,holdInstruction,holdInstructionReject\t0A\tunknown\t/CN=x')).toMatchObject({ reason: 'certificateHold' });
    expect(parseIndexLine('R\t261124120000Z\t261124120000Z,keyTime\t0A\tunknown\t/CN=x')).toBeNull();
    expect(parseIndexLine('R\t261124120000Z\t261124120000Z,keyTime,yesterday\t0A\tunknown\t/CN=x')).toBeNull();
  });
});
