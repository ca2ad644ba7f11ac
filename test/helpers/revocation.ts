/**
 * Revocation test tools: certificates issued through the real client (run as
 * the myproxy user), revoke-cert runs, and openssl views of CRLs.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { ecCsr, keys } from '../corpus/csr-builder.js';
import { request } from '../corpus/requests.js';
import { CLIENT_BIN, REVOKE_BIN, type ServerFixture } from './ca-server.js';
import { systemUser } from './users.js';

export interface IssuedCert {
  readonly pem: string;
  readonly serial: string;
  readonly file: string;
}

/** One certificate for /O=Test/CN=<cn>, through etoken-ca-client as MyProxy runs it; its lifetime one hour unless told. */
export function issueThroughClient(fixture: ServerFixture, cn: string, lifetimeSeconds = 3600): Promise<IssuedCert> {
  const myproxy = systemUser('myproxy');
  const child = spawn('/bin/sh', ['-c', 'umask 0077 && exec "$0"', CLIENT_BIN], {
    uid: myproxy.uid,
    gid: myproxy.gid,
    cwd: '/',
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, ETOKEN_CA_CONFIG: fixture.configPath },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  child.stdin.end(request(ecCsr(keys().p256), { username: `/O=Test/CN=${cn}`, proxyLifetime: String(lifetimeSeconds) }));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`client exit ${code}: ${stderr}`));
      const serial = execFileSync('openssl', ['x509', '-noout', '-serial'], { input: stdout, encoding: 'utf8' }).trim().replace('serial=', '');
      const file = join(fixture.dir, `${serial}.pem`);
      writeFileSync(file, stdout);
      resolve({ pem: stdout, serial, file });
    }),
  );
}

export interface RevokeRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs revoke-cert without blocking the test's event loop, so the server's log keeps being read. */
export function revokeCert(fixture: ServerFixture, args: readonly string[]): Promise<RevokeRun> {
  const child = spawn(REVOKE_BIN, ['--config', fixture.configPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The CRL numbers revoke-cert printed. */
export const crlNumbersIn = (stdout: string): number[] => [...stdout.matchAll(/in CRL number (\d+)/g)].map((m) => Number(m[1]));

export function crlText(path: string, inform: 'PEM' | 'DER' = 'PEM'): string {
  return execFileSync('openssl', ['crl', '-inform', inform, '-in', path, '-noout', '-text'], { encoding: 'utf8' });
}

/** `openssl verify -crl_check`: true when the certificate is accepted. */
export function verifiesWithCrl(caCert: string, crl: string, certFile: string): boolean {
  return spawnSync('openssl', ['verify', '-crl_check', '-CAfile', caCert, '-CRLfile', crl, certFile], { encoding: 'utf8' }).status === 0;
}
