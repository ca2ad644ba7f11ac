/**
 * Issuance end to end: real myproxy-logon -> real myproxy-server (user
 * myproxy) -> etoken-ca-client -> spool -> etoken-ca-server (root) -> parser
 * (caparse) and signer (causer) on a SoftHSM token.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_BIN, makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { startMyProxy, type MyProxyServer } from '../helpers/myproxy.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { pollUntil } from '../helpers/wait-until.js';

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;
let myproxy: MyProxyServer;

function x509(pem: string, ...args: string[]): string {
  return execFileSync('openssl', ['x509', '-noout', ...args], { input: pem, encoding: 'utf8' });
}

function indexLines(): string[] {
  return readFileSync(join(fixture.caDir, 'index.txt'), 'utf8').split('\n').filter(Boolean);
}

function verify(pem: string): string {
  const file = join(fixture.dir, 'verify.pem');
  writeFileSync(file, pem);
  return execFileSync('openssl', ['verify', '-CAfile', token.caCertPath, file], { encoding: 'utf8' });
}

beforeAll(async () => {
  token = createTestToken({ label: `e2e-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  fixture = makeServerFixture(token);
  server = await startServer(fixture, token.pin);
  myproxy = await startMyProxy({ calloutPath: CLIENT_BIN, env: { ETOKEN_CA_CONFIG: fixture.configPath }, maxCertLifetime: 12 });
});

afterAll(async () => {
  await myproxy?.stop();
  await server?.stop();
  token?.cleanup();
  if (fixture) removeFixture(fixture);
});

describe('issuance through myproxy-logon', () => {
  it('issues a certificate with the designed profile', async () => {
    const before = Date.now();
    const r = await myproxy.logon({ username: '/O=Example/CN=Jane Doe email=jane@example.org info:dept=physics', hours: 2 });
    const after = Date.now();
    expect(r.code, `${r.stderr}\n${JSON.stringify(server.logs.slice(-6))}\n${server.stderr.join('')}`).toBe(0);
    const pem = r.certPem!;
    expect(verify(pem)).toMatch(/: OK/);
    const text = x509(pem, '-text', '-nameopt', 'compat');
    expect(x509(pem, '-subject', '-nameopt', 'compat')).toBe('subject=/DC=org/DC=example/O=Example/CN=Jane Doe\n');
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/TLS Web Client Authentication/);
    expect(text).toMatch(/email:jane@example\.org/);
    expect(text).toMatch(/Policy: 1\.3\.6\.1\.4\.1\.99999\.1\.1/);
    expect(text).toMatch(/URI:http:\/\/ca\.example\.org\/crl\.pem/);
    expect(text).not.toMatch(/Proxy Certificate|1\.3\.6\.1\.5\.5\.7\.1\.14/);
    const notAfter = new Date(x509(pem, '-enddate').replace('notAfter=', '').trim()).getTime();
    // Two hours from when the server signed, some time between the logon's start and its end (a busy machine makes that long).
    expect(notAfter).toBeLessThanOrEqual(after + 2 * 3600_000);
    expect(notAfter).toBeGreaterThan(before + 2 * 3600_000 - 60_000);
    const serial = x509(pem, '-serial').replace('serial=', '').trim();
    // The answer goes out before the server writes its index line and newcerts/ file and logs it: wait for the log.
    const [issued] = await server.waitFor('cert.issued', 1, 30_000, (e) => e.serial === serial);
    expect(issued?.subject).toBe('/DC=org/DC=example/O=Example/CN=Jane Doe');
    expect(indexLines().some((l) => l.startsWith('V\t') && l.includes(`\t${serial}\tunknown\t/DC=org/DC=example/O=Example/CN=Jane Doe`))).toBe(true);
    expect(readFileSync(join(fixture.caDir, 'newcerts', `${serial}.pem`), 'utf8')).toBe(pem.trim() + '\n');
  });

  it('caps the lifetime at max_cert_lifetime', async () => {
    const r = await myproxy.logon({ username: '/O=Example/CN=Long Life', hours: 500 });
    expect(r.code).toBe(0);
    const start = new Date(x509(r.certPem!, '-startdate').replace('notBefore=', '').trim()).getTime();
    const end = new Date(x509(r.certPem!, '-enddate').replace('notAfter=', '').trim()).getTime();
    expect(end - start).toBe(12 * 3600_000 + 300_000);
  });

  it('serves several logons at once', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `/O=Example/CN=Parallel User ${i}`);
    const results = await Promise.all(names.map((username) => myproxy.logon({ username, hours: 1 })));
    for (const [i, r] of results.entries()) {
      expect(r.code, r.stderr).toBe(0);
      expect(verify(r.certPem!)).toMatch(/: OK/);
      expect(x509(r.certPem!, '-subject', '-nameopt', 'compat')).toContain(`CN=Parallel User ${i}`);
    }
    const serials = results.map((r) => x509(r.certPem!, '-serial'));
    expect(new Set(serials).size).toBe(serials.length);
  });

  it('refuses a DN that breaks the rules, and records nothing: the client refuses it before spooling', async () => {
    const lines = indexLines().length;
    const received = server.events('request.received').length;
    for (const username of ['/O=Example/CN=a+UID=b', '/O=Example/title=boss', '/O=Example/CN=x email=not-an-address']) {
      const r = await myproxy.logon({ username, hours: 1 });
      expect(r.code).toBe(1);
      expect(r.certPem).toBeNull();
    }
    expect(indexLines()).toHaveLength(lines);
    expect(server.events('request.received')).toHaveLength(received);
  });

  it('refuses a 1024-bit RSA key', async () => {
    const lines = indexLines().length;
    const r = await myproxy.logon({ username: '/O=Example/CN=Weak Key', hours: 1, keyBits: 1024 });
    expect(r.code).toBe(1);
    expect(indexLines()).toHaveLength(lines);
    expect(server.events('cert.refused').some((e) => /RSA key/i.test(String(e.reason)))).toBe(true);
  });

  it('keeps the database usable by openssl ca -status', async () => {
    const cnf = join(fixture.dir, 'openssl-ca.cnf');
    writeFileSync(
      cnf,
      `[ca]\ndefault_ca = etoken\n[etoken]\ndir = ${fixture.caDir}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/newcerts\nserial = $dir/serial\ncertificate = ${token.caCertPath}\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = optional\n`,
    );
    const r = await myproxy.logon({ username: '/O=Example/CN=Status User', hours: 1 });
    expect(r.code, r.stderr).toBe(0);
    const first = x509(r.certPem!, '-serial').replace('serial=', '').trim();
    // openssl ca -status exits 1 even when it finds the serial: read what it says.
    const status = spawnSync('openssl', ['ca', '-config', cnf, '-status', first], { encoding: 'utf8' });
    expect(status.stderr).toContain(`${first}=Valid (V)`);
    const unknown = spawnSync('openssl', ['ca', '-config', cnf, '-status', '0123456789ABCDEF'], { encoding: 'utf8' });
    expect(unknown.stderr).toMatch(/not present in db/);
  });

  it('leaves nothing behind in the spool once clients are done', async () => {
    const r = await myproxy.logon({ username: '/O=Example/CN=Tidy User', hours: 1 });
    expect(r.code, r.stderr).toBe(0);
    // Answers go at a sweep (every 2 s) once their client has gone: a deadline far past that, for a loaded machine.
    const left = (): string => execFileSync('find', [fixture.spoolDir, '-type', 'f'], { encoding: 'utf8' }).trim();
    await pollUntil(() => left() === '', 60_000, () => `files left in the spool: ${left()}`);
  });
});
