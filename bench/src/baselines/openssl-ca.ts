/**
 * What the original tool did per request: `openssl ca -batch` on an
 * index.txt of a given size, with a file key or with the token's key through
 * the pkcs11 engine (module named by PKCS11_MODULE_PATH only: an engine
 * section in the config as well loads it twice), and `openssl ca -gencrl`
 * over a given number of revoked entries.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestToken } from '../../../test/helpers/softhsm.js';
import { writeSyntheticIndex, type SyntheticIndex } from '../db/synthetic-index.js';
import { median, timeRuns } from '../stats.js';

export interface OpensslKey {
  readonly certPath: string;
  /** A PEM file, or a pkcs11: URI with the engine. */
  readonly key: string;
  readonly engine?: { readonly env: NodeJS.ProcessEnv };
}

function caConfig(dir: string, key: OpensslKey): string {
  return `[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ${dir}
database = ${dir}/index.txt
new_certs_dir = ${dir}/newcerts
serial = ${dir}/serial
crlnumber = ${dir}/crlnumber
certificate = ${key.certPath}
${key.engine ? '' : `private_key = ${key.key}\n`}default_md = sha256
default_days = 1
default_crl_days = 7
unique_subject = no
copy_extensions = none
policy = policy_any
[ policy_any ]
domainComponent = optional
organizationName = optional
commonName = optional
`;
}

/** A fresh openssl ca directory whose index.txt is synthetic, or a copy of another. */
function caDir(dir: string, key: OpensslKey, index: SyntheticIndex | { readonly copyOf: string }): string {
  mkdirSync(join(dir, 'newcerts'), { recursive: true });
  if ('copyOf' in index) copyFileSync(index.copyOf, join(dir, 'index.txt'));
  else writeSyntheticIndex(join(dir, 'index.txt'), index);
  writeFileSync(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  const config = join(dir, 'openssl.cnf');
  writeFileSync(config, caConfig(dir, key));
  return config;
}

function engineArgs(key: OpensslKey): string[] {
  return key.engine ? ['-engine', 'pkcs11', '-keyform', 'engine', '-keyfile', key.key] : [];
}

function openssl(args: readonly string[], key: OpensslKey): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], env: key.engine?.env ?? process.env });
}

/** Median ms of one `openssl ca -batch` issuance with an index of `entries` lines. */
export function opensslCaIssueMs(dir: string, key: OpensslKey, csrPath: string, entries: number, runs: number): number {
  const config = caDir(dir, key, { entries, revoked: 0 });
  const out = join(dir, 'out.pem');
  let n = 0;
  const issue = (): void =>
    openssl(['ca', '-batch', '-config', config, '-in', csrPath, '-out', out, '-notext', '-preserveDN', '-subj', `/DC=org/DC=example/O=Bench/CN=openssl ${n++}`, ...engineArgs(key)], key);
  issue();
  return median(timeRuns(runs, issue));
}

/** Median ms of one `openssl ca -gencrl` over `revoked` revoked entries. */
export function opensslGencrlMs(dir: string, key: OpensslKey, revoked: number, runs: number): number {
  const config = caDir(dir, key, { entries: revoked, revoked });
  const gencrl = (): void => openssl(['ca', '-gencrl', '-config', config, '-out', join(dir, 'crl.pem'), ...engineArgs(key)], key);
  gencrl();
  return median(timeRuns(runs, gencrl));
}

/**
 * Median ms of what an operator of the original tool ran to revoke: `openssl ca -revoke` of one certificate file,
 * then `openssl ca -gencrl`, on a copy of `index`; each run revokes the next of `certFiles`.
 */
export function opensslRevokeThenGencrlMs(dir: string, key: OpensslKey, index: string, certFiles: readonly string[]): number {
  const config = caDir(dir, key, { copyOf: index });
  let next = 0;
  const revokeThenGencrl = (): void => {
    openssl(['ca', '-config', config, '-revoke', certFiles[next++]!, '-crl_reason', 'keyCompromise', ...engineArgs(key)], key);
    openssl(['ca', '-gencrl', '-config', config, '-out', join(dir, 'crl.pem'), ...engineArgs(key)], key);
  };
  return median(timeRuns(certFiles.length, revokeThenGencrl));
}

/** A certificate with this serial and subject (self-signed: `openssl ca -revoke` reads only those two). */
export function certificateWithSerial(dir: string, serial: string, subject: string): string {
  const file = join(dir, `${serial}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${serial}.key`), '-out', file, '-days', '1', '-subj', subject, '-set_serial', `0x${serial}`], { stdio: 'pipe' });
  return file;
}

/** The token's CA key as the pkcs11 engine names it. */
export function engineKey(token: TestToken): OpensslKey {
  const id = token.caKeyId.replace(/../g, '%$&');
  return {
    certPath: token.caCertPath,
    key: `pkcs11:token=${encodeURIComponent(token.label)};id=${id};type=private;pin-value=${token.pin}`,
    engine: { env: { ...process.env, PKCS11_MODULE_PATH: token.modulePath, SOFTHSM2_CONF: token.conf } },
  };
}
