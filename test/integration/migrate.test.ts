/**
 * Migration from the original tool: an `openssl ca` directory made with the
 * real `openssl ca` (file key: valid, expired and revoked certificates, two
 * CRLs) is imported; the CA key moves onto a SoftHSM token, and the config is
 * written as the original tool's was (its five keys, shell-style quotes).
 * Every entry keeps its state, CRL numbers continue after the old ones, and
 * new serials never collide with old ones.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { myproxyRequest } from '../../packages/ca-client/src/testing/myproxy-request.js';
import { CLIENT_BIN, REVOKE_BIN, SERVER_BIN, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { SOFTHSM_MODULE } from '../helpers/softhsm.js';
import { systemUser } from '../helpers/users.js';

const PIN = '26581174';
let work: string;
let old: string;
let fixture: ServerFixture;
let server: RunningServer | undefined;
const serials: Record<string, string> = {};

function openssl(args: readonly string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

/** The CA as the original tool ran it: a file key and an openssl ca directory. */
function makeOpensslCa(): void {
  old = join(work, 'old-ca');
  mkdirSync(join(old, 'newcerts'), { recursive: true });
  writeFileSync(join(old, 'index.txt'), '');
  writeFileSync(join(old, 'serial'), '1000\n');
  writeFileSync(join(old, 'crlnumber'), '01\n');
  const cnf = join(old, 'openssl.cnf');
  writeFileSync(
    cnf,
    [
      '[ca]',
      'default_ca = old',
      '[old]',
      `dir = ${old}`,
      'database = $dir/index.txt',
      'new_certs_dir = $dir/newcerts',
      'serial = $dir/serial',
      'crlnumber = $dir/crlnumber',
      `certificate = ${work}/ca.pem`,
      `private_key = ${work}/ca.key`,
      'default_md = sha256',
      'default_days = 30',
      'default_crl_days = 30',
      'policy = any',
      'unique_subject = no',
      'preserve = yes',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', join(work, 'ca.key')]);
  openssl([
    'req', '-x509', '-key', join(work, 'ca.key'), '-out', join(work, 'ca.pem'), '-days', '365', '-subj', '/O=Example/CN=Old CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  chmodSync(join(work, 'ca.pem'), 0o644);
  const issue = (name: string, dates: string[] = []): string => {
    const csr = join(work, `${name}.csr`);
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(work, `${name}.key`), '-out', csr, '-subj', `/O=Example/CN=${name}`]);
    openssl(['ca', '-batch', '-config', cnf, '-preserveDN', '-in', csr, '-out', join(work, `${name}.pem`), ...dates]);
    serials[name] = openssl(['x509', '-in', join(work, `${name}.pem`), '-noout', '-serial']).replace('serial=', '').trim();
    return join(work, `${name}.pem`);
  };
  issue('Valid One');
  issue('Valid Two');
  issue('Expired', ['-startdate', '20200101000000Z', '-enddate', '20200201000000Z']);
  openssl(['ca', '-batch', '-config', cnf, '-revoke', issue('Compromised'), '-crl_reason', 'keyCompromise']);
  openssl(['ca', '-batch', '-config', cnf, '-gencrl', '-out', join(old, 'crl-1.pem')]);
  openssl(['ca', '-batch', '-config', cnf, '-revoke', issue('Replaced'), '-crl_reason', 'superseded']);
  openssl(['ca', '-batch', '-config', cnf, '-gencrl', '-out', join(old, 'crl-2.pem')]);
  openssl(['ca', '-batch', '-config', cnf, '-updatedb']);
}

/** The same key moved onto a token, as the migration to a USB token does. */
function keyOntoToken(): { conf: string; label: string } {
  const tokens = join(work, 'tokens');
  mkdirSync(tokens);
  const conf = join(work, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`, { mode: 0o644 });
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const label = `migrate-${process.pid}`;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', '12345678', '--pin', PIN], { env, stdio: 'pipe' });
  execFileSync('softhsm2-util', ['--import', join(work, 'ca.key'), '--token', label, '--label', 'ca', '--id', '0102', '--pin', PIN], { env, stdio: 'pipe' });
  const causer = systemUser('causer');
  chownTree(tokens, causer.uid, causer.gid);
  return { conf, label };
}

function writeConfig(token: { conf: string; label: string }): void {
  const configPath = join(work, 'etoken-ca');
  const caDir = join(work, 'ca');
  const spoolDir = join(work, 'spool');
  const original = [
    '# sysconfig of the original etoken-ca',
    'DN_FORMAT="/DC=org/DC=example%s"',
    'CA_OIDS="1.3.6.1.4.1.99999.1.1"',
    'CRL_URLS="URI:http://ca.example.org/crl.pem"',
    'USB_DEVICE="0529:0620"',
    'KEY="0:0102"',
  ];
  const added = [
    '# added for etoken-ca',
    `PKCS11_MODULE=${SOFTHSM_MODULE}`,
    `PKCS11_ENV="SOFTHSM2_CONF=${token.conf}"`,
    `TOKEN_LABEL="${token.label}"`,
    `CA_CERT=${join(work, 'ca.pem')}`,
    `CA_DIR=${caDir}`,
    `SPOOL_DIR=${spoolDir}`,
    `CRL_DIR=${join(work, 'crl')}`,
    `REVOKE_QUEUE_DIR=${join(caDir, 'revoke-queue')}`,
    `PID_FILE=${join(work, 'etoken-ca.pid')}`,
    'ALLOW_PIN_FD=yes',
  ];
  writeFileSync(configPath, [...original, ...added, ''].join('\n'), { mode: 0o644 });
  fixture = { dir: work, configPath, caDir, spoolDir };
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
  writeConfig(keyOntoToken());
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
    const r = spawnSync(SERVER_BIN, ['import-openssl-ca', old, '--config', fixture.configPath], { encoding: 'utf8' });
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
    const again = spawnSync(SERVER_BIN, ['import-openssl-ca', old, '--config', fixture.configPath], { encoding: 'utf8' });
    expect(again.status).toBe(73);
    expect(again.stderr).toMatch(/already holds a CA database/);
  });

  it('continues the CRL numbers after the old ones and keeps the old revocations in the next CRL', async () => {
    server = await startServer(fixture, PIN);
    const [issued] = await server.waitFor('crl.issued');
    expect(issued!.number).toBe(3);
    const crl = join(work, 'crl', 'crl.pem');
    const text = openssl(['crl', '-in', crl, '-noout', '-text', '-CAfile', join(work, 'ca.pem')]);
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
