/**
 * The CA as the original tool ran it, made by `openssl ca` itself: a file
 * key, an openssl ca directory (index.txt, serial, crlnumber, newcerts/),
 * and, for the migration, the same key moved onto a SoftHSM token and the
 * original tool's sysconfig with the keys etoken-ca adds.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerFixture } from './ca-server.js';
import { SOFTHSM_MODULE } from './softhsm.js';
import { systemUser } from './users.js';

export function openssl(args: readonly string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

export interface OldCa {
  readonly work: string;
  /** The openssl ca directory. */
  readonly dir: string;
  readonly config: string;
  readonly caCert: string;
  readonly caKey: string;
}

/** An empty openssl ca directory in work/old-ca with a new RSA CA key and certificate in work/. */
export function makeOldCa(work: string): OldCa {
  const dir = join(work, 'old-ca');
  mkdirSync(join(dir, 'newcerts'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  const [caCert, caKey, config] = [join(work, 'ca.pem'), join(work, 'ca.key'), join(dir, 'openssl.cnf')];
  writeFileSync(
    config,
    [
      '[ca]',
      'default_ca = old',
      '[old]',
      `dir = ${dir}`,
      'database = $dir/index.txt',
      'new_certs_dir = $dir/newcerts',
      'serial = $dir/serial',
      'crlnumber = $dir/crlnumber',
      `certificate = ${caCert}`,
      `private_key = ${caKey}`,
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
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', caKey]);
  openssl([
    'req', '-x509', '-key', caKey, '-out', caCert, '-days', '365', '-subj', '/O=Example/CN=Old CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  chmodSync(caCert, 0o644);
  return { work, dir, config, caCert, caKey };
}

/**
 * Issues a certificate with `openssl ca` for a subject in `openssl req -subj` syntax (UTF-8, `+` for a
 * multi-valued RDN); returns its file and serial.
 */
export function issueWithOpenssl(ca: OldCa, name: string, subject: string, dates: readonly string[] = []): { file: string; serial: string } {
  const [csr, file] = [join(ca.work, `${name}.csr`), join(ca.work, `${name}.pem`)];
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-out', csr, '-utf8', '-multivalue-rdn', '-subj', subject]);
  openssl(['ca', '-batch', '-config', ca.config, '-preserveDN', '-utf8', '-in', csr, '-out', file, ...dates]);
  return { file, serial: openssl(['x509', '-in', file, '-noout', '-serial']).replace('serial=', '').trim() };
}

/** The same key moved onto a token, as the migration to a USB token does. */
export function keyOntoToken(ca: OldCa, pin: string): { conf: string; label: string } {
  const tokens = join(ca.work, 'tokens');
  mkdirSync(tokens);
  const conf = join(ca.work, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`, { mode: 0o644 });
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const label = `migrate-${process.pid}`;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', '12345678', '--pin', pin], { env, stdio: 'pipe' });
  execFileSync('softhsm2-util', ['--import', ca.caKey, '--token', label, '--label', 'ca', '--id', '0102', '--pin', pin], { env, stdio: 'pipe' });
  const causer = systemUser('causer');
  chownTree(tokens, causer.uid, causer.gid);
  return { conf, label };
}

/** The original tool's sysconfig (its five keys, shell-style quotes) with the keys etoken-ca adds. */
export function writeMigratedConfig(ca: OldCa, token: { conf: string; label: string }, dnFormat = '/DC=org/DC=example%s'): ServerFixture {
  const { work } = ca;
  const configPath = join(work, 'etoken-ca');
  const caDir = join(work, 'ca');
  const spoolDir = join(work, 'spool');
  const original = [
    '# sysconfig of the original etoken-ca',
    `DN_FORMAT="${dnFormat}"`,
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
    `CA_CERT=${ca.caCert}`,
    `CA_DIR=${caDir}`,
    `SPOOL_DIR=${spoolDir}`,
    `CRL_DIR=${join(work, 'crl')}`,
    `REVOKE_QUEUE_DIR=${join(caDir, 'revoke-queue')}`,
    `PID_FILE=${join(work, 'etoken-ca.pid')}`,
    'ALLOW_PIN_FD=yes',
  ];
  writeFileSync(configPath, [...original, ...added, ''].join('\n'), { mode: 0o644 });
  return { dir: work, configPath, caDir, spoolDir };
}
