/**
 * The MyProxy test harness itself, with a callout of this test's own: a bash
 * script that signs the CSR with a software CA and records what it was given.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { myproxyUnavailable, startMyProxy, type MyProxyServer } from '../helpers/myproxy.js';
import { createSoftwareCa, openssl } from '../helpers/pki.js';
import { giveTo, systemUser } from '../helpers/users.js';

const REFUSED_USER = '/O=Test/CN=refuse me';

/** Records env and request (minus the passphrase line), refuses REFUSED_USER, else signs the CSR. */
function calloutScript(dir: string): string {
  return `#!/bin/bash
set -eu
request=$(cat)
env > "${dir}/seen/$$.env"
printf '%s\\n' "$request" | grep -v '^passphrase=' > "${dir}/seen/$$.request"
case "$request" in
  *"username=${REFUSED_USER}"*) echo "refused by the test callout" >&2; exit 1 ;;
esac
printf '%s\\n' "$request" | sed -n '/-----BEGIN CERTIFICATE REQUEST-----/,/-----END CERTIFICATE REQUEST-----/p' |
  openssl x509 -req -CA "${dir}/ca/ca.pem" -CAkey "${dir}/ca/ca.key" -set_serial "0x$(openssl rand -hex 16)" -days 1
`;
}

const unavailable = myproxyUnavailable();

describe.skipIf(unavailable)(`myproxy test harness${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let dir: string;
  let caCert: string;
  let server: MyProxyServer;

  beforeAll(async () => {
    const myproxy = systemUser('myproxy');
    dir = mkdtempSync('/tmp/etoken-callout-');
    giveTo(dir, myproxy, 0o755);
    const ca = await createSoftwareCa(join(dir, 'ca'));
    caCert = ca.certPath;
    giveTo(join(dir, 'ca'), myproxy, 0o700);
    giveTo(ca.keyPath, myproxy, 0o600);
    mkdirSync(join(dir, 'seen'));
    giveTo(join(dir, 'seen'), myproxy, 0o700);
    const callout = join(dir, 'callout.sh');
    writeFileSync(callout, calloutScript(dir));
    giveTo(callout, myproxy, 0o755);
    server = await startMyProxy({
      calloutPath: callout,
      env: { ETOKEN_CA_CONFIG: '/etc/etoken-ca-test.conf' },
      requestTimeout: 60,
      maxCertLifetime: 12,
    });
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const seen = (suffix: string): string[] =>
    readdirSync(join(dir, 'seen'))
      .filter((f) => f.endsWith(suffix))
      .map((f) => readFileSync(join(dir, 'seen', f), 'utf8'));

  it('returns the certificate the callout printed', async () => {
    const result = await server.logon({ username: '/O=Example/CN=Jane Doe', hours: 2 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.certPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const certFile = join(dir, 'issued.pem');
    writeFileSync(certFile, result.certPem!);
    expect(await openssl(['verify', '-CAfile', caCert, certFile])).toContain(': OK');
  });

  it('hands the callout the server environment and the request', () => {
    expect(seen('.env').some((env) => env.includes('ETOKEN_CA_CONFIG=/etc/etoken-ca-test.conf\n'))).toBe(true);
    const request = seen('.request').find((r) => r.includes('username=/O=Example/CN=Jane Doe\n'));
    expect(request).toContain('proxy_lifetime=7200\n');
    expect(request).toContain('max_cert_lifetime=43200\n');
    expect(request).toContain('-----BEGIN CERTIFICATE REQUEST-----');
  });

  it('serves four logons at once', async () => {
    const names = [1, 2, 3, 4].map((i) => `/O=Example/CN=Parallel ${i}`);
    const results = await Promise.all(names.map((username) => server.logon({ username, hours: 1 })));
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.certPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    }
    expect(new Set(results.map((r) => r.certPem)).size).toBe(4);
  });

  it('sends a CSR of the requested key size', async () => {
    const result = await server.logon({ username: '/O=Example/CN=Big Key', keyBits: 3072 });
    expect(result.code, result.stderr).toBe(0);
    const certFile = join(dir, 'big.pem');
    writeFileSync(certFile, result.certPem!);
    expect(await openssl(['x509', '-in', certFile, '-noout', '-text'])).toContain('Public-Key: (3072 bit)');
  });

  it('fails the logon when the callout exits 1', async () => {
    const result = await server.logon({ username: REFUSED_USER });
    expect(result.code).toBe(1);
    expect(result.certPem).toBeNull();
    expect(result.stderr).toContain('Certificate generation failure');
  });
});
