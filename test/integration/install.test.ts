/**
 * The installer and the self-audit on an installed copy: install into a
 * temporary prefix as root, `--check` passes, one thing made wrong at a
 * time makes `--check` and start-up refuse with the right message and exit
 * code, a certificate is issued through myproxy-logon by the installed
 * programs, a second install changes nothing, and uninstall keeps the CA
 * database.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningServer } from '../helpers/ca-server.js';
import { CHECKOUT_SERVER } from '../helpers/staged-code.js';
import { myproxyUnavailable, startMyProxy } from '../helpers/myproxy.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';

let token: TestToken;
let prefix: string;
let configFile: string;
let sbin: string;
let caCert: string;
let configText: string;

function run(program: string, args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(program, args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const installer = (...args: string[]) => run(process.execPath, [CHECKOUT_SERVER, ...args, '--prefix', prefix]);
const check = () => run(join(sbin, 'etoken-ca-server'), ['--check']);

/** Starts the installed server with the PIN on fd 3; resolves once it is ready or has exited. */
async function startInstalled(waitReady: boolean): Promise<RunningServer> {
  const child = spawn(join(sbin, 'etoken-ca-server'), ['--pin-fd', '3'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const pinPipe = child.stdio[3] as Writable;
  pinPipe.on('error', () => undefined);
  pinPipe.end(`${token.pin}\n`);
  const config = { dir: prefix, configPath: configFile, caDir: join(prefix, 'var/lib/etoken-ca'), spoolDir: join(prefix, 'var/spool/etoken-ca') };
  const server = new RunningServer(config, child);
  if (waitReady) await server.waitFor('pin.accepted');
  return server;
}

/** Start-up must refuse with this exit code and message, before any PIN is used. */
async function startRefused(code: number, message: RegExp): Promise<void> {
  const server = await startInstalled(false);
  const exit = await new Promise<number | null>((resolve) => server.child.once('exit', resolve));
  expect(exit).toBe(code);
  expect(server.stderr.join('')).toMatch(message);
  expect(server.events('pin.accepted')).toHaveLength(0);
  expect(server.events('audit.failed')).toHaveLength(1);
}

/** Makes one thing wrong, checks `--check` and start-up refuse, puts it right. */
async function refusedWhile(code: number, message: RegExp, spoil: () => void, repair: () => void): Promise<void> {
  spoil();
  try {
    const r = check();
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
    await startRefused(code, message);
  } finally {
    repair();
  }
  expect(check().code).toBe(0);
}

beforeAll(() => {
  token = createTestToken({ label: `install-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  prefix = mkdtempSync('/tmp/etoken-install-');
  chmodSync(prefix, 0o755);
  const first = installer('install');
  expect(first.code, first.stderr).toBe(0);
  sbin = join(prefix, 'usr/local/sbin');
  configFile = join(prefix, 'etc/sysconfig/etoken-ca');
  caCert = join(prefix, 'etc/etoken-ca/ca.pem');
  copyFileSync(token.caCertPath, caCert);
  chmodSync(caCert, 0o644);
  // What the operator adds to the installed file: the token, and the PIN over a descriptor for the test.
  appendFileSync(
    configFile,
    [
      `PKCS11_MODULE=${token.modulePath}`,
      `PKCS11_ENV="SOFTHSM2_CONF=${token.conf}"`,
      `TOKEN_LABEL="${token.label}"`,
      'DN_FORMAT=/DC=org/DC=example%s',
      'ALLOW_PIN_FD=yes',
      'CLIENT_TIMEOUT=30',
      '',
    ].join('\n'),
  );
  configText = readFileSync(configFile, 'utf8');
});

afterAll(() => {
  if (prefix) rmSync(prefix, { recursive: true, force: true });
  token?.cleanup();
});

describe('etoken-ca-server install', () => {
  it('puts root-owned code, wrappers, unit, drop-in and directories in place', () => {
    const code = join(prefix, 'usr/local/lib/etoken-ca');
    const client = join(code, 'node_modules/@etoken-ca/ca-client/dist');
    for (const path of [code, join(client, 'etoken-ca-client.js'), join(client, 'etoken-ca-client.cache'), join(code, 'node_modules/pkcs11js')]) {
      const st = statSync(path);
      expect(st.uid).toBe(0);
      expect(st.mode & 0o022).toBe(0);
    }
    expect(readFileSync(join(prefix, 'etc/systemd/system/myproxy-server.service.d/etoken-ca.conf'), 'utf8')).toContain(
      `Environment=ETOKEN_CA_CONFIG=${configFile}`,
    );
    expect(readFileSync(join(prefix, 'etc/systemd/system/etoken-ca.service'), 'utf8')).toContain(`ExecStart=${sbin}/etoken-ca-server`);
    expect((statSync(join(prefix, 'var/spool/etoken-ca/incoming')).mode & 0o7777).toString(8)).toBe('1730');
    expect((statSync(join(prefix, 'var/lib/etoken-ca')).mode & 0o777).toString(8)).toBe('700');
    expect(statSync(join(prefix, 'usr/local/bin/etoken-ca-client')).mode & 0o001).toBe(1);
  });

  it('passes --check on the installed copy', () => {
    const r = check();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('self-audit passed');
  });

  it('refuses a group-writable parent directory of the code', async () => {
    const parent = join(prefix, 'usr/local/lib');
    await refusedWhile(78, new RegExp(`${parent}: group-writable`), () => chmodSync(parent, 0o775), () => chmodSync(parent, 0o755));
  });

  it.each([
    ['the server wrapper the unit runs as root', 'usr/local/sbin/etoken-ca-server', 0o757],
    ['the client wrapper MyProxy runs', 'usr/local/bin/etoken-ca-client', 0o775],
    ['the revoke-cert wrapper', 'usr/local/sbin/revoke-cert', 0o757],
    ['the unit', 'etc/systemd/system/etoken-ca.service', 0o646],
    ['the drop-in', 'etc/systemd/system/myproxy-server.service.d/etoken-ca.conf', 0o664],
  ])('refuses %s when others than root can change it', async (_, file, mode) => {
    const path = join(prefix, file);
    const before = statSync(path).mode & 0o7777;
    await refusedWhile(78, new RegExp(`${path}: (world|group)-writable`), () => chmodSync(path, mode), () => chmodSync(path, before));
  });

  it("refuses code the workers cannot read, saying what to do", async () => {
    const lib = join(prefix, 'usr/local/lib');
    await refusedWhile(78, new RegExp(`code \\(the workers run it as CA_USER and PARSER_USER: install it with etoken-ca-server install, or build where every account can read\\): ${lib}: the unprivileged accounts cannot enter it`), () => chmodSync(lib, 0o750), () => chmodSync(lib, 0o755));
  });

  it('refuses a world-writable config', async () => {
    await refusedWhile(78, new RegExp(`${configFile}: world-writable`), () => chmodSync(configFile, 0o646), () => chmodSync(configFile, 0o644));
  });

  it('refuses a token without the CA key (exit 69)', async () => {
    const other = createTestToken({ label: `install-other-${process.pid}`, keyType: 'rsa', owner: 'causer' });
    try {
      const otherConfig = configText.replace(`SOFTHSM2_CONF=${token.conf}`, `SOFTHSM2_CONF=${other.conf}`).replace(`TOKEN_LABEL="${token.label}"`, `TOKEN_LABEL="${other.label}"`);
      await refusedWhile(69, /token does not hold the public key of the CA certificate/, () => writeFileSync(configFile, otherConfig), () => writeFileSync(configFile, configText));
    } finally {
      other.cleanup();
    }
  });

  it('refuses a CA certificate the unprivileged accounts cannot read', async () => {
    await refusedWhile(78, new RegExp(`${caCert}: not readable by the unprivileged accounts`), () => chmodSync(caCert, 0o600), () => chmodSync(caCert, 0o644));
  });

  it('issues a certificate through myproxy-logon with the installed programs', async (ctx) => {
    const why = myproxyUnavailable();
    if (why) return ctx.skip(why);
    const server = await startInstalled(true);
    const client = join(prefix, 'usr/local/bin/etoken-ca-client');
    const myproxy = await startMyProxy({ calloutPath: client, env: { ETOKEN_CA_CONFIG: configFile }, maxCertLifetime: 12 });
    try {
      const r = await myproxy.logon({ username: '/O=Example/CN=Installed User', hours: 1 });
      expect(r.code, `${r.stderr}\n${server.stderr.join('')}`).toBe(0);
      const verified = execFileSync('openssl', ['verify', '-CAfile', caCert], { input: r.certPem!, encoding: 'utf8' });
      expect(verified).toMatch(/OK/);
      expect(server.events('cert.issued')[0]?.subject).toBe('/DC=org/DC=example/O=Example/CN=Installed User');
    } finally {
      await myproxy.stop();
      await server.stop();
    }
  });

  it('changes nothing when run again', () => {
    // Brings the copy up to date first: the build tree may have been rebuilt since the first install.
    expect(installer('install').code).toBe(0);
    const before = statSync(join(sbin, 'etoken-ca-server')).mtimeMs;
    const again = installer('install');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing changed');
    expect(again.stdout).not.toMatch(/^\s+(created|updated)\s/m);
    expect(readFileSync(configFile, 'utf8')).toBe(configText);
    expect(statSync(join(sbin, 'etoken-ca-server')).mtimeMs).toBe(before);
  });

  it('uninstalls the code, the wrappers and the unit, and keeps the CA database and the config', () => {
    const dry = installer('uninstall', '--dry-run');
    expect(dry.stdout).toMatch(/would be removed\s+.*usr\/local\/lib\/etoken-ca/);
    expect(existsSync(join(prefix, 'usr/local/lib/etoken-ca'))).toBe(true);
    const r = installer('uninstall');
    expect(r.code, r.stderr).toBe(0);
    for (const gone of ['usr/local/lib/etoken-ca', 'usr/local/sbin/etoken-ca-server', 'usr/local/bin/etoken-ca-client', 'etc/systemd/system/etoken-ca.service']) {
      expect(existsSync(join(prefix, gone)), gone).toBe(false);
    }
    expect(existsSync(join(prefix, 'var/lib/etoken-ca/index.txt'))).toBe(true);
    expect(existsSync(join(prefix, 'var/lib/etoken-ca/journal'))).toBe(true);
    expect(readFileSync(configFile, 'utf8')).toBe(configText);
  });
});
