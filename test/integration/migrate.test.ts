/**
 * Migration from the original tool: an `openssl ca` directory made with the
 * real `openssl ca` (file key: valid, expired and revoked certificates, two
 * CRLs) is imported; the CA key moves onto a SoftHSM token, and the config is
 * written as the original tool's was (its five keys, shell-style quotes).
 * Every entry keeps its state, CRL numbers continue after the old ones, and
 * new serials never collide with old ones.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { myproxyRequest } from '../../packages/ca-client/src/testing/myproxy-request.js';
import { CLIENT_BIN, REVOKE_BIN, SERVER_BIN, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { issueWithOpenssl, keyOntoToken, makeOldCa, openssl, writeMigratedConfig, type OldCa } from '../helpers/old-openssl-ca.js';
import { systemUser } from '../helpers/users.js';

const PIN = '26581174';
let work: string;
let ca: OldCa;
let fixture: ServerFixture;
let server: RunningServer | undefined;
const serials: Record<string, string> = {};

function makeOpensslCa(): void {
  ca = makeOldCa(work);
  const issue = (name: string, dates: string[] = []): string => {
    const { file, serial } = issueWithOpenssl(ca, name, `/O=Example/CN=${name}`, dates);
    serials[name] = serial;
    return file;
  };
  const cnf = ca.config;
  const old = ca.dir;
  issue('Valid One');
  issue('Valid Two');
  issue('Expired', ['-startdate', '20200101000000Z', '-enddate', '20200201000000Z']);
  openssl(['ca', '-batch', '-config', cnf, '-revoke', issue('Compromised'), '-crl_reason', 'keyCompromise']);
  openssl(['ca', '-batch', '-config', cnf, '-gencrl', '-out', join(old, 'crl-1.pem')]);
  openssl(['ca', '-batch', '-config', cnf, '-revoke', issue('Replaced'), '-crl_reason', 'superseded']);
  openssl(['ca', '-batch', '-config', cnf, '-gencrl', '-out', join(old, 'crl-2.pem')]);
  openssl(['ca', '-batch', '-config', cnf, '-updatedb']);
}

function revokeList(): Array<{ serial: string; state: string; reason: string | null; subject: string }> {
  return JSON.parse(execFileSync(REVOKE_BIN, ['--list', '--json', '--config', fixture.configPath], { encoding: 'utf8' }));
}

/** One request through the real client, as MyProxy runs it (user myproxy). */
function requestCertificate(cn: string): Promise<string> {
  const myproxy = systemUser('myproxy');
  const csr = openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=NULL SUBJECT NAME ENTRY']);
  const child = spawn('/bin/sh', ['-c', 'umask 0077 && exec "$0"', CLIENT_BIN], {
    uid: myproxy.uid,
    gid: myproxy.gid,
    cwd: '/',
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, ETOKEN_CA_CONFIG: fixture.configPath },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  child.stdin.end(myproxyRequest(csr, { username: `/O=Example/CN=${cn}` }));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`client exited ${code}: ${stderr}`)))),
  );
}

beforeAll(() => {
  work = mkdtempSync('/tmp/etoken-migrate-');
  chmodSync(work, 0o755);
  makeOpensslCa();
  fixture = writeMigratedConfig(ca, keyOntoToken(ca, PIN));
});

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('import-openssl-ca', () => {
  it('reads the original tool\'s keys as they were', () => {
    const config = parseConfig(readFileSync(fixture.configPath, 'utf8'), fixture.configPath);
    expect(config.dnFormat.source).toBe('/DC=org/DC=example%s');
    expect(config.caOids).toEqual(['1.3.6.1.4.1.99999.1.1']);
    expect(config.crlUrls).toEqual(['http://ca.example.org/crl.pem']);
    expect(config.usbDevice).toEqual({ vendor: 0x0529, product: 0x0620 });
    expect(config.key).toEqual({ slot: 0, keyId: Buffer.from('0102', 'hex') });
  });

  it('imports every entry with its state, and refuses to import twice', () => {
    const r = spawnSync(SERVER_BIN, ['import-openssl-ca', ca.dir, '--config', fixture.configPath], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Imported 5 certificates');
    expect(r.stdout).toContain('the next CRL will be number 3');
    const rows = new Map(revokeList().map((row) => [row.serial, row]));
    expect(rows.size).toBe(5);
    expect(rows.get(serials['Valid One']!)).toMatchObject({ state: 'valid', subject: '/O=Example/CN=Valid One' });
    expect(rows.get(serials['Valid Two']!)?.state).toBe('valid');
    expect(rows.get(serials['Expired']!)?.state).toBe('expired');
    expect(rows.get(serials['Compromised']!)).toMatchObject({ state: 'revoked', reason: 'keyCompromise' });
    expect(rows.get(serials['Replaced']!)).toMatchObject({ state: 'revoked', reason: 'superseded' });
    expect(readFileSync(join(fixture.caDir, 'newcerts', `${serials['Valid One']}.pem`), 'utf8')).toBe(readFileSync(join(work, 'Valid One.pem'), 'utf8').replace(/^[\s\S]*?(?=-----BEGIN)/, ''));
    const again = spawnSync(SERVER_BIN, ['import-openssl-ca', ca.dir, '--config', fixture.configPath], { encoding: 'utf8' });
    expect(again.status).toBe(73);
    expect(again.stderr).toMatch(/already holds a CA database/);
  });

  it('continues the CRL numbers after the old ones and keeps the old revocations in the next CRL', async () => {
    server = await startServer(fixture, PIN);
    const [issued] = await server.waitFor('crl.issued');
    expect(issued!.number).toBe(3);
    const crl = join(work, 'crl', 'crl.pem');
    const text = openssl(['crl', '-in', crl, '-noout', '-text', '-CAfile', ca.caCert]);
    expect(text).toMatch(/CRL Number:\s*\n\s*3/);
    expect(text).toContain(`Serial Number: ${serials['Compromised']}`);
    expect(text).toContain(`Serial Number: ${serials['Replaced']}`);
  });

  it('issues new certificates whose serials never collide with the old ones', async () => {
    const fresh: string[] = [];
    for (let i = 0; i < 3; i++) {
      const pem = await requestCertificate(`New User ${i}`);
      fresh.push(execFileSync('openssl', ['x509', '-noout', '-serial'], { input: pem, encoding: 'utf8' }).replace('serial=', '').trim());
    }
    const taken = new Set(Object.values(serials));
    expect(fresh.every((s) => s !== '' && !taken.has(s))).toBe(true);
    expect(revokeList()).toHaveLength(8);
  });
});
