/**
 * The self-audit as the README lists it ("Operations: self-audit"), on the
 * staged code with a test configuration: `etoken-ca-server --check`, and the
 * same audit at start-up, before the spool is touched or a PIN read. The
 * accounts, an expired CA certificate, a published CRL of another CA, the
 * spool's modes, a PKCS#11 module that does not load (69) against a
 * configuration problem (78), an absent token (fatal for --check, waited for
 * at start-up), --check writing nothing, and the token probe running as
 * CA_USER. What install.test.ts checks on an installed copy (code, wrappers,
 * unit and config permissions, a token without the CA key) is not repeated.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildCaTbs } from '@etoken-ca/x509/ca-tbs';
import { parseCaCertificate } from '@etoken-ca/x509/ca-certificate';
import { buildTbsCertList, createCrlTemplate } from '@etoken-ca/x509/crl';
import { pemBytes } from '@etoken-ca/x509/pem';
import { caKeyTypeOf, signatureAlgorithm } from '@etoken-ca/x509/signature-algorithm';
import { assembleSigned } from '@etoken-ca/x509/signed';
import { makeServerFixture, removeFixture, SERVER_BIN, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { exitStatus } from '../helpers/console-server.js';
import { createTestToken, SOFTHSM_MODULE, type TestToken } from '../helpers/softhsm.js';
import { systemUser } from '../helpers/users.js';

const DAY_MS = 86_400_000;

let token: TestToken;
const fixtures: ServerFixture[] = [];
const servers: RunningServer[] = [];

function fixtureWith(settings: Record<string, string> = {}): ServerFixture {
  const fixture = makeServerFixture(token, settings);
  fixtures.push(fixture);
  return fixture;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function check(fixture: ServerFixture): Run {
  const r = spawnSync(SERVER_BIN, ['--config', fixture.configPath, '--check'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start-up refuses with this code and message, before the PIN is used and before the spool exists. */
async function startRefused(fixture: ServerFixture, code: number, message: RegExp): Promise<void> {
  const spoolBefore = existsSync(fixture.spoolDir);
  const server = await startServer(fixture, token.pin, false);
  servers.push(server);
  expect(await exitStatus(server)).toBe(code);
  expect(server.stderr.join('')).toMatch(message);
  expect(server.events('audit.failed')).toHaveLength(1);
  expect(server.events('pin.accepted')).toEqual([]);
  expect(existsSync(fixture.spoolDir)).toBe(spoolBefore);
}

/** --check and start-up both refuse, listing every problem. */
async function refused(fixture: ServerFixture, code: number, ...messages: RegExp[]): Promise<void> {
  const r = check(fixture);
  expect(r.code, r.stderr).toBe(code);
  for (const message of messages) expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(new RegExp(`self-audit failed \\(${messages.length} problems?\\)`));
  for (const message of messages) await startRefused(fixture, code, message);
}

/** A CA certificate with its key in memory: under another name, or under the test CA's own name (softhsm.ts) with another key. */
function softwareCa(name: 'other' | 'same as the token CA', notBefore: number, notAfter: number): { pem: string; key: KeyObject; der: Buffer } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const algorithm = signatureAlgorithm(caKeyTypeOf(publicKey));
  const subject =
    name === 'other'
      ? [
          { type: 'O', value: 'Elsewhere' },
          { type: 'CN', value: 'Another CA' },
        ]
      : [
          { type: 'O', value: 'etoken-ca test' },
          { type: 'CN', value: `Test CA ${token.label}` },
        ];
  const tbs = buildCaTbs({ subject, spki: publicKey.export({ type: 'spki', format: 'der' }), notBefore, notAfter }, algorithm);
  const der = assembleSigned(tbs, algorithm, sign(algorithm.hash, tbs, privateKey));
  return { pem: pemBytes(der, 'CERTIFICATE').toString('latin1'), key: privateKey, der };
}

/** An empty CRL signed by a software CA. */
function crlOf(ca: { der: Buffer; key: KeyObject }): Buffer {
  const template = createCrlTemplate(parseCaCertificate(ca.der));
  const now = Math.floor(Date.now() / 1000) * 1000;
  const tbs = buildTbsCertList(template, { number: 1, thisUpdate: now, nextUpdate: now + DAY_MS, entries: [] });
  return assembleSigned(tbs, template.algorithm, sign(template.algorithm.hash, tbs, ca.key));
}

function publishCrl(fixture: ServerFixture, der: Buffer): void {
  const dir = join(fixture.dir, 'crl');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'crl.pem'), pemBytes(der, 'X509 CRL'), { mode: 0o644 });
}

/** Sets one key of the fixture's config, replacing its line if it has one. */
function setConfig(fixture: ServerFixture, key: string, value: string): void {
  const lines = readFileSync(fixture.configPath, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith(`${key}=`));
  writeFileSync(fixture.configPath, `${[...lines, `${key}="${value}"`].join('\n')}\n`);
}

/**
 * Every path below `dirs` with what a write, chmod, chown or create would
 * change. SoftHSM's own `generation` file is left out: the module rewrites it
 * (same bytes) when a process opens the token, which is the token's business,
 * as a real token's internal state is.
 */
function treeListing(dirs: readonly string[]): string[] {
  const out: string[] = [];
  const visit = (path: string): void => {
    if (path.endsWith('/generation')) return;
    const st = lstatSync(path, { bigint: true });
    out.push(`${path} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.nlink} m${st.mtimeNs} c${st.ctimeNs}`);
    if (st.isDirectory()) for (const name of readdirSync(path).sort()) visit(join(path, name));
  };
  for (const dir of dirs) visit(dir);
  return out;
}

beforeAll(() => {
  token = createTestToken({ label: `audit-${process.pid}`, keyType: 'ec-p256', owner: 'causer' });
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
  for (const fixture of fixtures.splice(0)) removeFixture(fixture);
});

afterAll(() => token?.cleanup());

describe('etoken-ca-server --check', () => {
  it('passes a sound configuration and writes nothing, before and after the server has run', async () => {
    const fixture = fixtureWith({ CRL_FORMATS: 'pem,der' });
    const watched = [fixture.dir, join(token.conf, '..')];
    const fresh = treeListing(watched);
    const first = check(fixture);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`self-audit passed: ${fixture.configPath}\n`);
    expect(treeListing(watched)).toEqual(fresh);
    expect(existsSync(fixture.caDir) || existsSync(fixture.spoolDir)).toBe(false);

    // Once the server has made its CA directory, spool, queue and CRLs: still nothing written.
    const server = await startServer(fixture, token.pin);
    await server.waitFor('crl.issued');
    await server.stop();
    const settled = treeListing(watched);
    const second = check(fixture);
    expect(second.code, second.stderr).toBe(0);
    expect(treeListing(watched)).toEqual(settled);
  });

  it.each([
    ['CA_USER that does not exist', { CA_USER: 'etoken-no-such-user' }, /CA_USER: no such user "etoken-no-such-user"/],
    ['PARSER_USER that does not exist', { PARSER_USER: 'etoken-no-such-user' }, /PARSER_USER: no such user "etoken-no-such-user"/],
    ['CA_USER root', { CA_USER: 'root' }, /CA_USER: "root" is root; it must be an unprivileged account/],
    ['PARSER_USER root', { PARSER_USER: 'root' }, /PARSER_USER: "root" is root; it must be an unprivileged account/],
    ['the same account for CA_USER and PARSER_USER', { PARSER_USER: 'causer' }, /CA_USER and PARSER_USER must be different accounts/],
    ['a CLIENT_GROUP that does not exist', { CLIENT_GROUP: 'etoken-no-such-group' }, /CLIENT_GROUP: no such group "etoken-no-such-group"/],
  ])('refuses %s (78)', async (_, settings, message) => {
    await refused(fixtureWith(settings), 78, message);
  });

  it('refuses an expired CA certificate (78)', async () => {
    const fixture = fixtureWith();
    const expired = softwareCa('other', Date.now() - 400 * DAY_MS, Date.now() - DAY_MS);
    const caCert = join(fixture.dir, 'expired-ca.pem');
    writeFileSync(caCert, expired.pem, { mode: 0o644 });
    setConfig(fixture, 'CA_CERT', caCert);
    const notAfter = new X509Certificate(expired.pem).validTo;
    const r = check(fixture);
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toMatch(new RegExp(`CA_CERT ${caCert}: expired on ${new Date(notAfter).toISOString().slice(0, 16)}`));
    await startRefused(fixture, 78, /CA_CERT .*: expired on/);
  });

  it.each([
    ['issued by another CA', () => crlOf(softwareCa('other', Date.now() - DAY_MS, Date.now() + DAY_MS)), /its issuer is not the CA certificate's subject/],
    ["with the CA's name but another key", () => crlOf(softwareCa('same as the token CA', Date.now() - DAY_MS, Date.now() + DAY_MS)), /its signature does not verify with the CA certificate/],
  ])('refuses a published CRL %s (78)', async (_, make, message) => {
    const fixture = fixtureWith();
    publishCrl(fixture, make());
    await refused(fixture, 78, new RegExp(`CRL ${join(fixture.dir, 'crl', 'crl.pem')}: ${message.source}`));
  });

  it.each([
    ['incoming/ writable by others', 'incoming', 0o1733, null, /spool: .*\/incoming: mode 1733, expected 1730/],
    ['incoming/ without its sticky bit', 'incoming', 0o730, null, /spool: .*\/incoming: mode 0730, expected 1730/],
    ['answers/ readable by others', 'answers', 0o755, null, /spool: .*\/answers: mode 0755, expected 0750/],
    ["answers/ in root's group instead of the client group", 'answers', 0o750, 0, /spool: .*\/answers: owned by 0:0, expected 0:\d+/],
    ['the spool root writable by its group', '.', 0o775, null, /spool: .*\/spool: mode 0775, expected 0755/],
  ])('refuses a spool with %s (78)', async (_, dir, mode, gid, message) => {
    const fixture = fixtureWith();
    const myproxy = systemUser('myproxy');
    mkdirSync(join(fixture.spoolDir, 'incoming'), { recursive: true });
    mkdirSync(join(fixture.spoolDir, 'answers'));
    chmodSync(fixture.spoolDir, 0o755);
    for (const [name, m] of [['incoming', 0o1730], ['answers', 0o750]] as const) {
      chownSync(join(fixture.spoolDir, name), 0, myproxy.gid);
      chmodSync(join(fixture.spoolDir, name), m);
    }
    expect(check(fixture).code).toBe(0);
    const spoiled = join(fixture.spoolDir, dir);
    if (gid !== null) chownSync(spoiled, 0, gid);
    chmodSync(spoiled, mode);
    const r = check(fixture);
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toMatch(message);
    await startRefused(fixture, 78, message);
  });
});

describe('the token and its module', () => {
  it('a PKCS#11 module that does not load is a token problem (69); with a configuration problem as well, 78 and both listed', async () => {
    const fixture = fixtureWith();
    const broken = join(fixture.dir, 'broken-pkcs11.so');
    writeFileSync(broken, 'not a shared object\n', { mode: 0o644 });
    setConfig(fixture, 'PKCS11_MODULE', broken);
    await refused(fixture, 69, new RegExp(`token \\(PKCS11_MODULE ${broken}\\): `));

    setConfig(fixture, 'CLIENT_GROUP', 'etoken-no-such-group');
    await refused(fixture, 78, /CLIENT_GROUP: no such group/, new RegExp(`token \\(PKCS11_MODULE ${broken}\\): `));
  });

  it('a PKCS#11 module that is not there is a token problem (69)', async () => {
    const fixture = fixtureWith();
    const missing = join(fixture.dir, 'missing-pkcs11.so');
    setConfig(fixture, 'PKCS11_MODULE', missing);
    await refused(fixture, 69, new RegExp(`PKCS11_MODULE ${missing}: no such file`));
  });

  it('probes the token as CA_USER, not as root: a module only root may read fails, one CA_USER may read passes', async () => {
    const fixture = fixtureWith();
    const causer = systemUser('causer');
    const module = join(fixture.dir, 'libsofthsm2-copy.so');
    copyFileSync(SOFTHSM_MODULE, module);
    setConfig(fixture, 'PKCS11_MODULE', module);

    chownSync(module, 0, 0);
    chmodSync(module, 0o600);
    const rootOnly = check(fixture);
    expect(rootOnly.code, rootOnly.stderr).toBe(69);
    expect(rootOnly.stderr).toMatch(new RegExp(`token \\(PKCS11_MODULE ${module}\\): .*Permission denied`));

    chownSync(module, 0, causer.gid);
    chmodSync(module, 0o640);
    const signerGroup = check(fixture);
    expect(signerGroup.code, signerGroup.stderr).toBe(0);
  });

  it('an absent token fails --check (69) but not the start-up: the server waits for it, and logs in once it is back', async () => {
    const fixture = fixtureWith({ TOKEN_POLL_INTERVAL: '1' });
    token.remove();
    let server: RunningServer;
    try {
      const r = check(fixture);
      expect(r.code, r.stderr).toBe(69);
      expect(r.stderr).toMatch(/token \(PKCS11_MODULE .*\): /);
      server = await startServer(fixture, token.pin, false);
      servers.push(server);
      await server.waitFor('audit.token-absent');
      expect(server.events('audit.failed')).toEqual([]);
      expect(server.exited).toBe(false);
    } finally {
      token.restore();
    }
    await server.waitFor('pin.accepted', 1, 60_000);
    expect(server.exited).toBe(false);
  });
});
