import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publishCrl, pruneCrlCopies } from './crl-files.js';

const dir = mkdtempSync(join(tmpdir(), 'etoken-crl-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CRL copies', () => {
  it('keeps the numbered copies of the newest CRLs, in every format, and the latest links', () => {
    for (const number of [1, 2, 3, 9, 10, 11]) publishCrl(dir, number, Buffer.from([0x30, 0x00]), ['pem', 'der']);
    expect(pruneCrlCopies(dir, 3)).toEqual([3, 2, 1]);
    expect(readdirSync(dir).sort()).toEqual(['crl-10.der', 'crl-10.pem', 'crl-11.der', 'crl-11.pem', 'crl-9.der', 'crl-9.pem', 'crl.der', 'crl.pem']);
    expect(readlinkSync(join(dir, 'crl.pem'))).toBe('crl-11.pem');
    expect(pruneCrlCopies(dir, 3)).toEqual([]);
  });
});
