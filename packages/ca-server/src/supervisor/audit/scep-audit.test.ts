/**
 * The SCEP part of the self-audit, on accounts every Debian system has
 * (root, daemon, bin, sys, nobody; the groups users and nogroup) and an RA
 * key file in a temp directory. Changing a file's owner needs root, like
 * the rest of the suite.
 */
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '@etoken-ca/contract/core/config';
import { lookupGroup, lookupUser } from '../proc.js';
import { scepAudit } from './scep-audit.js';

const isRoot = process.getuid?.() === 0;
let dir: string;

function config(keys: Record<string, string>): Config {
  const all: Record<string, string> = {
    DN_FORMAT: '/O=Example%s',
    PKCS11_MODULE: join(dir, 'pkcs11.so'),
    CA_CERT: join(dir, 'ca.pem'),
    CA_USER: 'daemon',
    PARSER_USER: 'bin',
    CLIENT_GROUP: 'users',
    SCEP_ENABLE: 'yes',
    SCEP_USER: 'sys',
    SCEP_GROUP: 'nogroup',
    SCEP_RA_KEY: join(dir, 'ra.key'),
    ...keys,
  };
  const file = join(dir, 'etoken-ca.conf');
  return parseConfig(Object.entries(all).map(([k, v]) => `${k}="${v}"\n`).join(''), file);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scep-audit-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('SCEP self-audit', () => {
  it('is silent when SCEP is off, and on a sound setup before and after the RA key is made', () => {
    expect(scepAudit(config({ SCEP_ENABLE: 'no', SCEP_USER: 'root' }))).toEqual({ gid: null, problems: [] });
    expect(scepAudit(config({}))).toEqual({ gid: lookupGroup('nogroup'), problems: [] });
    writeFileSync(join(dir, 'ra.key'), 'key\n', { mode: 0o600 });
    chownSync(join(dir, 'ra.key'), lookupUser('sys')!.uid, 0);
    expect(scepAudit(config({})).problems).toEqual([]);
  });

  it('refuses root, an account shared with another part, a missing account or group', () => {
    expect(scepAudit(config({ SCEP_USER: 'root' })).problems).toEqual([expect.stringContaining('is root')]);
    expect(scepAudit(config({ SCEP_USER: 'daemon' })).problems).toEqual([expect.stringContaining('is also CA_USER')]);
    expect(scepAudit(config({ SCEP_USER: 'bin' })).problems).toEqual([expect.stringContaining('is also PARSER_USER')]);
    expect(scepAudit(config({ SCEP_USER: 'nobody' })).problems).toEqual([expect.stringContaining('is also HOOK_USER')]);
    expect(scepAudit(config({ SCEP_USER: 'no-such-scep-user' })).problems).toEqual([expect.stringContaining('no such user')]);
    const noGroup = scepAudit(config({ SCEP_GROUP: 'no-such-scep-group' }));
    expect(noGroup.gid).toBeNull();
    expect(noGroup.problems).toEqual([expect.stringContaining('SCEP_GROUP')]);
  });

  it('wants the RA key to be the SCEP account\'s alone', () => {
    const key = join(dir, 'ra.key');
    writeFileSync(key, 'key\n', { mode: 0o600 });
    expect(scepAudit(config({})).problems).toEqual([expect.stringContaining('must be a file owned by sys with mode 0600')]);
    rmSync(key);
    writeFileSync(key, 'key\n', { mode: 0o640 });
    chownSync(key, lookupUser('sys')!.uid, 0);
    expect(scepAudit(config({})).problems).toEqual([expect.stringContaining('SCEP_RA_KEY')]);
  });
});
