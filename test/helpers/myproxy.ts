/**
 * A real myproxy-server in CA mode for tests: its own temp dir, PKI, config
 * and port on 127.0.0.1, running as the `myproxy` user with a chosen
 * certificate_issuer_program, and the real myproxy-logon to talk to it.
 * Setup follows shared notes/myproxy-callout.md ("Minimal server setup").
 * Needs root and test/setup.sh (packages myproxy-server, myproxy; user myproxy).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { constants } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CpuGroup } from './cpu-group.js';
import { CLIENT_DN, createTestPki, openssl, type CertAndKey, type TestPki } from './pki.js';
import { findSystemUser, giveTo, isRoot, systemUser } from './users.js';

export const MYPROXY_SERVER = '/usr/sbin/myproxy-server';
export const MYPROXY_LOGON = '/usr/bin/myproxy-logon';

/** myproxy-server's own CA (certificate_issuer_cert and _key): a file key, usernames mapped to DNs by a grid-mapfile. */
export interface BuiltInCa {
  readonly certPath: string;
  /** Unencrypted PEM key; handed to user myproxy. */
  readonly keyPath: string;
  /** `"DN" username` lines: the built-in CA issues for the DN mapped to the logon username. */
  readonly mapfilePath: string;
}

export interface MyProxyOptions {
  /** Absolute path of the certificate_issuer_program; must be executable by user myproxy. Exactly one of this and builtInCa. */
  readonly calloutPath?: string;
  readonly builtInCa?: BuiltInCa;
  /** Added to the server's minimal environment (PATH, X509_*: not overridable), so the callout inherits it (e.g. ETOKEN_CA_CONFIG). */
  readonly env?: Readonly<Record<string, string>>;
  /** request_timeout in seconds. */
  readonly requestTimeout?: number;
  /** max_cert_lifetime in hours (the callout gets it in seconds). */
  readonly maxCertLifetime?: number;
  /** More config lines, each on its own line (e.g. certificate_issuer_checker /abs/path). */
  readonly extraConfig?: readonly string[];
  /**
   * Run myproxy-server (so its callouts) and the myproxy-logon clients in this CPU group, apart from the CA server,
   * as systemd and other machines would: a burst of logons then does not take the CA's share of the CPU.
   */
  readonly cpuGroup?: CpuGroup | null;
}

export interface LogonOptions {
  /** The MyProxy username (`-l`): a slash DN, optionally followed by attributes. */
  readonly username: string;
  /** `-t`: proxy lifetime in hours. */
  readonly hours?: number;
  /** Send a CSR for a fresh RSA key of this size (`-Q`) instead of myproxy-logon's own 2048-bit key. */
  readonly keyBits?: number;
  /** Send this CSR (PEM) with `-Q`. */
  readonly csrPem?: string;
  /** Kill myproxy-logon after this long (it has no timeout of its own). Default 180 s. */
  readonly timeoutMs?: number;
  /** Authenticate with this certificate and key instead of the test PKI's trusted-retriever client. */
  readonly credential?: CertAndKey;
}

export interface LogonResult {
  /** Exit status, or 128 + signal number when it was killed. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The first certificate myproxy-logon wrote, or null. */
  readonly certPem: string | null;
}

export interface MyProxyServer {
  readonly port: number;
  /** The server's temp dir (config, PKI, storage, logon output). */
  readonly dir: string;
  readonly pki: TestPki;
  readonly pid: number;
  logon(opts: LogonOptions): Promise<LogonResult>;
  /** Stops the daemon (by its pid file) and removes `dir`. */
  stop(): Promise<void>;
}

/** Why a real myproxy-server cannot run here, or null when it can. */
export function myproxyUnavailable(): string | null {
  if (!isRoot()) return 'needs root (run npm test as root)';
  for (const program of [MYPROXY_SERVER, MYPROXY_LOGON]) {
    if (!existsSync(program)) return `${program} is missing (run test/setup.sh)`;
  }
  if (!findSystemUser('myproxy')) return 'no user myproxy (run test/setup.sh)';
  return null;
}

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** PATH for the daemon and its callouts: `#!/usr/bin/env node` must find this node. */
function minimalPath(): string {
  const nodeDir = dirname(process.execPath);
  return SYSTEM_PATH.split(':').includes(nodeDir) ? SYSTEM_PATH : `${nodeDir}:${SYSTEM_PATH}`;
}

interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a program and resolves once it has exited and its output is read,
 * even when a daemonising child keeps the pipes open.
 */
function runToExit(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number, group?: CpuGroup | null): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (group && child.pid) group.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), stdout, stderr });
      };
      // Normally the pipes close right after exit; a daemon that keeps them open is let go of.
      child.once('close', finish);
      setTimeout(finish, 200);
    });
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no TCP port from the kernel');
  return address.port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function issuerConfig(opts: MyProxyOptions, runDir: string): string[] {
  if (opts.builtInCa) {
    const ca = opts.builtInCa;
    return [
      `certificate_issuer_cert ${ca.certPath}`,
      `certificate_issuer_key ${ca.keyPath}`,
      `certificate_mapfile ${ca.mapfilePath}`,
      `certificate_serialfile ${join(runDir, 'serial')}`,
    ];
  }
  return [`certificate_issuer_program ${opts.calloutPath}`];
}

function serverConfig(opts: MyProxyOptions, runDir: string): string {
  // Comments stay on their own lines: on a policy line extra words become DN patterns.
  const lines = [
    'authorized_retrievers "*"',
    `trusted_retrievers "${CLIENT_DN}"`,
    'allow_self_authorization true',
    ...issuerConfig(opts, runDir),
  ];
  if (opts.requestTimeout !== undefined) lines.push(`request_timeout ${opts.requestTimeout}`);
  if (opts.maxCertLifetime !== undefined) lines.push(`max_cert_lifetime ${opts.maxCertLifetime}`);
  return [...lines, ...(opts.extraConfig ?? [])].join('\n') + '\n';
}

function processAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

async function stopByPidFile(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && processAlive(pid); i++) await sleep(100);
  if (processAlive(pid)) process.kill(pid, 'SIGKILL');
}

function firstCertificate(text: string): string | null {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/.exec(text);
  return m ? m[0] : null;
}

export async function startMyProxy(opts: MyProxyOptions): Promise<MyProxyServer> {
  if ((opts.calloutPath === undefined) === (opts.builtInCa === undefined)) throw new Error('give exactly one of calloutPath and builtInCa');
  if (opts.calloutPath !== undefined && !isAbsolute(opts.calloutPath)) throw new Error(`calloutPath must be absolute: ${opts.calloutPath}`);
  const myproxy = systemUser('myproxy');
  const dir = mkdtempSync('/tmp/etoken-myproxy-');
  chmodSync(dir, 0o755);
  try {
    const pki = await createTestPki(join(dir, 'pki'));
    // Globus insists that the server user owns its certificate and key.
    giveTo(pki.host.certPath, myproxy, 0o644);
    giveTo(pki.host.keyPath, myproxy, 0o600);
    const storage = join(dir, 'storage');
    const runDir = join(dir, 'run');
    const logonDir = join(dir, 'logon');
    for (const d of [storage, runDir]) {
      mkdirSync(d);
      giveTo(d, myproxy, 0o700);
    }
    mkdirSync(logonDir, { mode: 0o700 });
    const configFile = join(dir, 'myproxy-server.config');
    if (opts.builtInCa) giveTo(opts.builtInCa.keyPath, myproxy, 0o600);
    writeFileSync(configFile, serverConfig(opts, runDir), { mode: 0o644 });
    const pidFile = join(runDir, 'myproxy-server.pid');
    const env = {
      ...opts.env,
      PATH: minimalPath(),
      X509_USER_CERT: pki.host.certPath,
      X509_USER_KEY: pki.host.keyPath,
      X509_CERT_DIR: pki.trustDir,
    };
    const port = await startDaemon(myproxy.name, configFile, storage, pidFile, env);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    opts.cpuGroup?.add(pid);
    let logons = 0;

    const logon = async (o: LogonOptions): Promise<LogonResult> => {
      const n = ++logons;
      const outFile = join(logonDir, `${n}.pem`);
      const args = ['-s', 'localhost', '-p', String(port), '-l', o.username, '-t', String(o.hours ?? 12), '-n', '-o', outFile];
      const csrFile = join(logonDir, `${n}.csr`);
      if (o.csrPem !== undefined) {
        writeFileSync(csrFile, o.csrPem, { mode: 0o600 });
      } else if (o.keyBits !== undefined) {
        await openssl([
          'req', '-new', '-newkey', `rsa:${o.keyBits}`, '-nodes', '-keyout', join(logonDir, `${n}.key`),
          '-out', csrFile, '-subj', '/CN=NULL SUBJECT NAME ENTRY',
        ]);
      }
      if (existsSync(csrFile)) args.push('-Q', csrFile);
      const clientEnv = {
        PATH: minimalPath(),
        HOME: logonDir,
        X509_CERT_DIR: pki.trustDir,
        X509_USER_CERT: (o.credential ?? pki.client).certPath,
        X509_USER_KEY: (o.credential ?? pki.client).keyPath,
      };
      const done = await runToExit(MYPROXY_LOGON, args, clientEnv, o.timeoutMs ?? 180_000, opts.cpuGroup);
      const certPem = existsSync(outFile) ? firstCertificate(readFileSync(outFile, 'utf8')) : null;
      return { ...done, certPem };
    };

    const stop = async (): Promise<void> => {
      await stopByPidFile(pidFile);
      rmSync(dir, { recursive: true, force: true });
    };

    return { port, dir, pki, pid, logon, stop };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Starts the daemon as `user` on a free port (retrying when another process
 * takes the port first) and returns the port once it accepts connections;
 * on failure, throws with the reason the daemon gives in debug mode.
 */
async function startDaemon(
  user: string,
  configFile: string,
  storage: string,
  pidFile: string,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const command = (port: number, ...extra: string[]): string[] => [
    `--reuid=${user}`, `--regid=${user}`, '--init-groups', MYPROXY_SERVER,
    '-c', configFile, '-s', storage, '-l', '127.0.0.1', '-p', String(port), ...extra,
  ];
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    // The command returns once the daemon listens (exit 0) or has failed (exit 1).
    const started = await runToExit('setpriv', command(port, '-P', pidFile), env, 30_000);
    if (started.code === 0) {
      for (let i = 0; i < 100; i++) {
        if (await canConnect(port)) return port;
        await sleep(50);
      }
      await stopByPidFile(pidFile);
      last = `myproxy-server started but does not accept connections on port ${port}`;
    } else {
      // It logs only to syslog; in debug mode (-d, no fork) it says why on stderr.
      const debug = await runToExit('setpriv', command(port, '-d'), env, 3_000);
      last = `myproxy-server exited ${started.code}: ${debug.stderr.trim().split('\n').slice(-3).join(' ').slice(-1500)}`;
      // Only a port taken between freePort() and bind() is worth another try.
      if (!/bind|in use/i.test(debug.stderr)) break;
    }
  }
  throw new Error(last);
}
