import { describe, expect, it } from 'vitest';
import { credentialsFileProblem, parseCredentials } from './smtp-credentials.js';

const stat = (uid: number, mode: number, file = true) => ({ uid, mode, isFile: () => file });

describe('SMTP credentials', () => {
  it('parses user:password, the password may hold colons', () => {
    expect(parseCredentials('relay:pa:ss\n')).toEqual({ user: 'relay', pass: 'pa:ss' });
    expect(() => parseCredentials('no-colon\n')).toThrow(/user:password/);
    expect(() => parseCredentials('a:b\nc:d\n')).toThrow(/one line/);
    expect(() => parseCredentials(':pass')).toThrow();
  });

  it('wants a regular file owned by root with no group or other access', () => {
    expect(credentialsFileProblem(stat(0, 0o100600))).toBeNull();
    expect(credentialsFileProblem(stat(0, 0o100640))).toMatch(/group or others/);
    expect(credentialsFileProblem(stat(0, 0o100604))).toMatch(/group or others/);
    expect(credentialsFileProblem(stat(1000, 0o100600))).toMatch(/owned by root/);
    expect(credentialsFileProblem(stat(0, 0o600, false))).toMatch(/regular file/);
  });
});
