/**
 * The real etoken-ca-client, run as the myproxy user with MyProxy's umask
 * and cwd, against a spool laid out as etoken-ca-server makes it and a fake
 * server that answers from a software CA.
 */
import { spawn, execFileSync, type StdioOptions } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import Module from 'node:module';
import { connect, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { myproxyRequest } from '../../packages/ca-client/src/testing/myproxy-request.js';
import { CLIENT_BIN } from '../helpers/ca-server.js';
import { STAGE } from '../helpers/staged-code.js';
import { FakeServer, makeCsr, makeSpool, type TestCsr } from '../helpers/fake-server.js';
import { createSoftwareCa, type SoftwareCa } from '../helpers/pki.js';
import { isRoot, systemUser, type SystemUser } from '../helpers/users.js';

const PASSPHRASE = 'Tr0ub4dor&3-never-in-the-spool';

interface ClientRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly pid: number;
  readonly ms: number;
}

let dir: string;
let myproxy: SystemUser;
let ca: SoftwareCa;
let otherCa: SoftwareCa;
let server: FakeServer;
let csr: TestCsr;
let otherCsr: TestCsr;
const configs: Record<'normal' | 'short' | 'broken', string> = { normal: '', short: '', broken: '' };

function writeConfig(name: string, lines: string[]): string {
  const path = join(dir, `${name}.conf`);
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o644 });
  return path;
}

/** Starts the client as MyProxy does: user myproxy, umask 0077, cwd /, no arguments, request on stdin. */
function startClient(input: Buffer, config: string, extraStdio: StdioOptions = []) {
  const started = Date.now();
  const child = spawn('/bin/sh', ['-c', 'umask 0077 && exec "$0"', CLIENT_BIN], {
    uid: myproxy.uid,
    gid: myproxy.gid,
    cwd: '/',
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, ETOKEN_CA_CONFIG: config },
    stdio: ['pipe', 'pipe', 'pipe', ...(extraStdio as unknown[])] as StdioOptions,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  // The client may stop reading early (oversize input): that is not the test's error.
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(input);
  const done = new Promise<ClientRun>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, pid: child.pid!, ms: Date.now() - started })),
  );
  return { child, done };
}

const runClient = (input: Buffer, config = configs.normal): Promise<ClientRun> => startClient(input, config).done;

function expectSpoolEmpty(): void {
  expect(server.incoming()).toEqual([]);
}

beforeAll(async () => {
  if (!isRoot()) throw new Error('the client integration test runs as root (it starts the client as user myproxy)');
  if (!existsSync(CLIENT_BIN)) throw new Error(`${CLIENT_BIN} is missing: run npm ci && npm run build`);
  myproxy = systemUser('myproxy');
  dir = mkdtempSync('/tmp/etoken-ca-client-');
  chmodSync(dir, 0o755);
  const privateDir = join(dir, 'private');
  mkdirSync(privateDir, { mode: 0o700 });
  [ca, otherCa, csr, otherCsr] = await Promise.all([
    createSoftwareCa(join(privateDir, 'ca'), '/O=Test/CN=Client Test CA'),
    createSoftwareCa(join(privateDir, 'other-ca'), '/O=Test/CN=Client Test CA'),
    makeCsr(privateDir, 'user'),
    makeCsr(privateDir, 'other'),
  ]);
  const caCert = join(dir, 'ca.pem');
  execFileSync('cp', [ca.certPath, caCert]);
  chmodSync(caCert, 0o644);
  const layout = makeSpool(join(dir, 'spool'), myproxy);
  const common = [`SPOOL_DIR=${layout.root}`, `CA_CERT=${caCert}`, 'DN_FORMAT=/O=Grid%s'];
  server = new FakeServer(layout, ca, myproxy.gid, parseConfig(common.join('\n'), 'fake-server.conf'));
  configs.normal = writeConfig('normal', [...common, 'CLIENT_TIMEOUT=20']);
  configs.short = writeConfig('short', [...common, 'CLIENT_TIMEOUT=2', 'MAX_REQUEST_SIZE=4096']);
  configs.broken = writeConfig('broken', [...common, 'NO_SUCH_KEY=1']);
});

afterEach(() => {
  expect(server.errors).toEqual([]);
  server.decide = () => ({ kind: 'issue' });
});

afterAll(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('etoken-ca-client as MyProxy runs it', () => {
  it('starts from the code cache the build made, which this Node accepts', () => {
    const bundle = join(STAGE, 'usr/local/lib/etoken-ca/node_modules/@etoken-ca/ca-client/dist/etoken-ca-client.js');
    const cachedData = readFileSync(bundle.replace(/\.js$/, '.cache'));
    expect(new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData }).cachedDataRejected).toBe(false);
  });

  it('prints the certificate for its CSR, spools no passphrase and leaves nothing behind', async () => {
    const run = await runClient(myproxyRequest(csr.pem, { passphrase: PASSPHRASE }));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    const cert = new X509Certificate(run.stdout);
    expect(cert.publicKey.equals(csr.publicKey)).toBe(true);
    const spooled = server.requests.at(-1)!;
    expect(spooled.bytes.includes(PASSPHRASE)).toBe(false);
    expect(spooled.bytes.toString()).not.toMatch(/^passphrase=/m);
    expect(spooled.lockTarget).toMatch(new RegExp(`^${run.pid}\\.\\d+$`));
    expectSpoolEmpty();
    await expect.poll(() => server.answers()).toEqual([]);
  });

  it('passes a refusal on: its exit code and one line on stderr', async () => {
    server.decide = () => ({ kind: 'refuse', exit: 65, reason: 'username is not a DN\nsecond line' });
    const run = await runClient(myproxyRequest(csr.pem));
    expect(run).toMatchObject({ code: 65, stdout: '', stderr: 'etoken-ca: username is not a DN second line\n' });
    expectSpoolEmpty();
  });

  it.each([
    ['another key', () => ({ kind: 'issue', forCsrPem: otherCsr.pem }) as const],
    ['another subject', () => ({ kind: 'issue', forUsername: '/DC=org/O=Example/CN=Jane Doe' }) as const],
    ['another CA with the same name', () => ({ kind: 'issue', by: otherCa }) as const],
  ])('prints nothing and exits 70 for a certificate for %s', async (_, reply) => {
    server.decide = reply;
    const run = await runClient(myproxyRequest(csr.pem));
    expect(run).toMatchObject({ code: 70, stdout: '', stderr: 'etoken-ca: certificate from etoken-ca-server does not match the request\n' });
    expectSpoolEmpty();
  });

  it('gives up after CLIENT_TIMEOUT with exit 75 and no files left', async () => {
    server.decide = () => ({ kind: 'ignore' });
    const run = await runClient(myproxyRequest(csr.pem), configs.short);
    expect(run).toMatchObject({ code: 75, stdout: '', stderr: 'etoken-ca: no answer from etoken-ca-server within 2 s\n' });
    expect(run.ms).toBeGreaterThanOrEqual(2000);
    // It gave up by itself (the fake server never answers): any bound short of the test's own limit shows that.
    expect(run.ms).toBeLessThan(120_000);
    expectSpoolEmpty();
  });

  it('cleans up and exits 75 on SIGTERM', async () => {
    let published: () => void = () => undefined;
    const seen = new Promise<void>((resolve) => (published = resolve));
    server.decide = () => {
      published();
      return { kind: 'ignore' };
    };
    const { child, done } = startClient(myproxyRequest(csr.pem), configs.normal);
    await seen;
    expect(server.incoming()).toHaveLength(2);
    child.kill('SIGTERM');
    expect(await done).toMatchObject({ code: 75, signal: null, stdout: '', stderr: 'etoken-ca: stopped by SIGTERM\n' });
    expectSpoolEmpty();
  });

  it('refuses more than MAX_REQUEST_SIZE bytes on stdin with exit 65', async () => {
    const before = server.requests.length;
    const run = await runClient(Buffer.alloc(64 * 1024, 'x'), configs.short);
    expect(run).toMatchObject({ code: 65, stdout: '', stderr: 'etoken-ca: request larger than 4096 bytes\n' });
    expect(server.requests).toHaveLength(before);
  });

  it('refuses a malformed request with exit 65 and the reason', async () => {
    const run = await runClient(Buffer.from('username=/O=Example/CN=x\nproxy_lifetime=3600\n\nnot a CSR\n'));
    expect(run).toMatchObject({ code: 65, stdout: '', stderr: 'etoken-ca: CSR is not one PEM CERTIFICATE REQUEST block\n' });
  });

  it('exits 78 with one line for a configuration error', async () => {
    const run = await runClient(myproxyRequest(csr.pem), configs.broken);
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/^etoken-ca: \S+broken\.conf:4: NO_SUCH_KEY: unknown key\n$/);
  });

  it('serves 8 clients at once, each with its own certificate', async () => {
    const csrs = await Promise.all(Array.from({ length: 8 }, (_, i) => makeCsr(join(dir, 'private'), `parallel-${i}`)));
    const before = server.requests.length;
    const runs = await Promise.all(csrs.map((each) => runClient(myproxyRequest(each.pem, { passphrase: PASSPHRASE }))));
    runs.forEach((run, i) => {
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(new X509Certificate(run.stdout).publicKey.equals(csrs[i]!.publicKey)).toBe(true);
    });
    expect(new Set(server.requests.slice(before).map((r) => r.id)).size).toBe(8);
    expect(new Set(runs.map((run) => new X509Certificate(run.stdout).serialNumber)).size).toBe(8);
    expectSpoolEmpty();
  });

  it("closes an inherited socket at once, as MyProxy leaks the user's connection", async () => {
    const listener = createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const peerSide = new Promise<Socket>((resolve) => listener.once('connection', resolve));
    const leaked = connect((listener.address() as { port: number }).port, '127.0.0.1');
    await new Promise((resolve, reject) => leaked.once('connect', resolve).once('error', reject));
    const peer = await peerSide;
    const events: string[] = [];
    const peerSawEnd = new Promise<void>((resolve) => peer.once('end', resolve).resume()).then(() => events.push('peer saw EOF'));
    // The fake server answers only once the connection is closed: a client that kept it would time out.
    server.decide = async () => {
      await peerSawEnd;
      return { kind: 'issue' };
    };
    const { done } = startClient(myproxyRequest(csr.pem), configs.normal, [leaked]);
    leaked.destroy(); // the test's own copy: only the client's is left
    const run = await done;
    events.push('client exited');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(events).toEqual(['peer saw EOF', 'client exited']);
    peer.destroy();
    listener.close();
  });
});
