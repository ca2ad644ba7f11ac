/**
 * The SCEP chain for end-to-end tests: a SoftHSM token, etoken-ca-server
 * (root) with SCEP_ENABLE=yes, an RA certificate issued by it with the
 * operator command, and etoken-ca-scep running as the scep account from the
 * staged install, listening on a loopback port of its own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { makeServerFixture, removeFixture, SERVER_BIN, startServer, type AuditRecord, type RunningServer, type ServerFixture } from './ca-server.js';
import { createTestToken, type TestToken } from './softhsm.js';
import { STAGE } from './staged-code.js';
import { systemUser } from './users.js';

export const SCEP_BIN = join(STAGE, 'usr/local/sbin/etoken-ca-scep');
export const RA_SUBJECT = '/DC=org/DC=example/OU=services/CN=SCEP RA';

export interface CommandRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** etoken-ca-scep as systemd runs it: the installed wrapper, as the scep account. */
export class ScepFront {
  readonly logs: AuditRecord[] = [];
  readonly stderr: string[] = [];
  private exitCode: number | null | undefined;
  private readonly exitWaiters: ((code: number | null) => void)[] = [];

  constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as AuditRecord);
        } catch {
          this.logs.push({ msg: line });
        }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk));
    child.on('exit', (code) => {
      this.exitCode = code;
      for (const waiter of this.exitWaiters.splice(0)) waiter(code);
    });
  }

  get exited(): boolean {
    return this.exitCode !== undefined;
  }

  exit(): Promise<number | null> {
    return this.exited ? Promise.resolve(this.exitCode ?? null) : new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.exited) this.child.kill(signal);
    return this.exit();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function startScepFront(configPath: string, options: { user?: string; waitReady?: boolean } = {}): Promise<ScepFront> {
  const account = systemUser(options.user ?? 'scep');
  const child = spawn(SCEP_BIN, ['--config', configPath], { uid: account.uid, gid: account.gid, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const front = new ScepFront(child);
  if (options.waitReady === false) return front;
  const deadline = Date.now() + 30_000;
  while (!front.logs.some((r) => r.event === 'scep.started')) {
    if (front.exited) throw new Error(`etoken-ca-scep exited: ${front.stderr.join('')}`);
    if (Date.now() > deadline) throw new Error(`etoken-ca-scep did not start: ${front.stderr.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return front;
}

export interface ScepCa {
  readonly token: TestToken;
  readonly fixture: ServerFixture;
  readonly server: RunningServer;
  readonly front: ScepFront;
  /** Starts the server again once it has exited (killed by a fault point, or by the test). */
  restartServer(): Promise<void>;
  readonly url: string;
  readonly port: number;
  /** etoken-ca-server scep ARGS --config ... as root. */
  command(args: readonly string[]): CommandRun;
  /** A new one-time challenge for the subjects PATTERN matches. */
  challenge(pattern: string): string;
  /** `count` of them at once. */
  challenges(pattern: string, count: number): string[];
  /** What `openssl ca -status SERIAL` says of a serial in the CA database. */
  opensslStatus(serial: string): string;
  restartFront(): Promise<void>;
  stop(): Promise<void>;
}

/** The keys every SCEP test shares: the namespace holds the hosts and scepclient's devices; DNS names under example.org, addresses in 192.0.2.0/24. */
export function scepKeys(dir: string, port: number): Record<string, string> {
  return {
    SUBJECT_NAMESPACE: '"/DC=org/DC=example/*" "/C=US/O=Example/OU=devices/CN=*"',
    SCEP_ENABLE: 'yes',
    SCEP_LISTEN: `127.0.0.1:${port}`,
    SCEP_SPOOL_DIR: join(dir, 'scep-spool'),
    SCEP_QUEUE_DIR: join(dir, 'scep-queue'),
    SCEP_RA_KEY: join(dir, 'scep', 'ra.key'),
    SCEP_RA_CERT: join(dir, 'scep', 'ra.pem'),
    SCEP_SUBJECTS: '"/DC=org/DC=example/OU=hosts/CN=*" "/DC=org/DC=example/OU=services/CN=*" "/C=US/O=Example/OU=devices/CN=*"',
    SCEP_SAN_DNS: '*.example.org',
    SCEP_SAN_IP: '192.0.2.0/24',
    SCEP_EKU: 'serverAuth,clientAuth',
    SCEP_LIFETIME_DAYS: '30',
    SCEP_RENEWAL_DAYS: '0',
  };
}

/** etoken-ca-server scep ARGS --config CONFIG, as root: the operators' command. */
export function scepCommand(configPath: string, args: readonly string[]): CommandRun {
  const run = spawnSync(SERVER_BIN, ['scep', ...args, '--config', configPath], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

export async function startScepCa(label: string, extra: Record<string, string> = {}): Promise<ScepCa> {
  const token = createTestToken({ label, keyType: 'rsa', owner: 'causer' });
  const port = await freePort();
  const configured = makeServerFixture(token);
  // Keys makeServerFixture does not set: appended, never set twice.
  const keys = { ...scepKeys(configured.dir, port), ...extra };
  appendFileSync(configured.configPath, Object.entries(keys).map(([k, v]) => `${k}="${v.replace(/["\\]/g, '\\$&')}"\n`).join(''));
  let server = await startServer(configured, token.pin);
  const command = (args: readonly string[]): CommandRun => scepCommand(configured.configPath, args);
  const ra = command(['issue-ra-cert', '--subject', RA_SUBJECT]);
  if (ra.code !== 0) throw new Error(`issue-ra-cert failed (${ra.code}): ${ra.stderr}`);
  let front = await startScepFront(configured.configPath);
  const ca: ScepCa = {
    token,
    fixture: configured,
    get server() {
      return server;
    },
    async restartServer() {
      if (!server.exited) await new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
      server = await startServer(configured, token.pin);
    },
    get front() {
      return front;
    },
    url: `http://127.0.0.1:${port}/scep`,
    port,
    command,
    challenge(pattern) {
      return ca.challenges(pattern, 1)[0]!;
    },
    challenges(pattern, count) {
      const run = command(['challenge', '--subject', pattern, '--count', String(count)]);
      if (run.code !== 0) throw new Error(`scep challenge failed (${run.code}): ${run.stderr}`);
      return run.stdout.trim().split('\n');
    },
    opensslStatus(serial) {
      const cnf = join(configured.dir, 'openssl-ca.cnf');
      writeFileSync(cnf, `[ca]\ndefault_ca = etoken\n[etoken]\ndir = ${configured.caDir}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/newcerts\nserial = $dir/serial\ncertificate = ${token.caCertPath}\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = optional\n`);
      return spawnSync('openssl', ['ca', '-config', cnf, '-status', serial], { encoding: 'utf8' }).stderr;
    },
    async restartFront() {
      await front.stop();
      front = await startScepFront(configured.configPath);
    },
    async stop() {
      await front.stop();
      await server.stop();
      token.cleanup();
      removeFixture(configured);
    },
  };
  return ca;
}
