import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { currentOperator } from './operator.js';

describe('currentOperator', () => {
  it('is the login uid when the kernel keeps one, else the real uid, named as NSS names it', async () => {
    const login = Number(readFileSync('/proc/self/loginuid', 'latin1').trim());
    const uid = login === 4294967295 ? process.getuid!() : login;
    const name = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8' }).split(':')[0];
    expect(await currentOperator()).toEqual({ uid, name });
  });
});
