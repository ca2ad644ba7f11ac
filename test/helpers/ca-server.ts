/**
 * Runs the real etoken-ca-server (root) for integration and end-to-end tests:
 * a config in a temp directory, the token's PIN over --pin-fd 3, the audit
 * log collected from stdout. The parser and signer run as caparse/causer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { TestToken } from './softhsm.js';
import { SERVER_BIN } from './staged-code.js';

export { CLIENT_BIN, REPO, REVOKE_BIN, SERVER_BIN } from './staged-code.js';

export interface AuditRecord {
  readonly event?: string;
  readonly msg?: string;
  readonly [key: string]: unknown;
}

export interface ServerFixture {
  readonly dir: string;
  readonly configPath: string;
  readonly caDir: string;
  readonly spoolDir: string;
}

/** A temp directory (root-owned, 0755: the workers and the client must reach inside) with a config for this token. */
export function makeServerFixture(token: TestToken, extra: Record<string, string> = {}): ServerFixture {
  const dir = mkdtempSync('/tmp/etoken-ca-');
  chmodSync(dir, 0o755);
  const caDir = join(dir, 'ca');
  const spoolDir = join(dir, 'spool');
  const keys: Record<string, string> = {
    DN_FORMAT: '/DC=org/DC=example%s',
    CA_OIDS: '1.3.6.1.4.1.99999.1.1',
    CRL_URLS: 'URI:http://ca.example.org/crl.pem',
    PKCS11_MODULE: token.modulePath,
    PKCS11_ENV: `SOFTHSM2_CONF=${token.conf}`,
    TOKEN_LABEL: token.label,
    CA_CERT: token.caCertPath,
    CA_DIR: caDir,
    SPOOL_DIR: spoolDir,
    ALLOW_PIN_FD: 'yes',
    PID_FILE: join(dir, 'etoken-ca.pid'),
    REVOKE_QUEUE_DIR: join(caDir, 'revoke-queue'),
    CRL_DIR: join(dir, 'crl'),
    CLIENT_TIMEOUT: '30',
    ...extra,
  };
  const configPath = join(dir, 'etoken-ca.conf');
  writeFileSync(configPath, Object.entries(keys).map(([k, v]) => `${k}="${v.replace(/["\\]/g, '\\$&')}"\n`).join(''), { mode: 0o644 });
  return { dir, configPath, caDir, spoolDir };
}

export class RunningServer {
  readonly logs: AuditRecord[] = [];
  readonly stderr: string[] = [];
  /** Called with each record as it is read, and with null when the server exits. */
  private readonly listeners = new Set<(record: AuditRecord | null) => void>();
  private exitCode: number | null | undefined;

  constructor(
    readonly fixture: ServerFixture,
    readonly child: ChildProcess,
  ) {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let record: AuditRecord;
        try {
          record = JSON.parse(line) as AuditRecord;
        } catch {
          record = { msg: line };
        }
        this.logs.push(record);
        for (const l of this.listeners) l(record);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk));
    child.on('exit', (code) => {
      this.exitCode = code;
      for (const l of this.listeners) l(null);
    });
  }

  get exited(): boolean {
    return this.exitCode !== undefined;
  }

  events(name: string): AuditRecord[] {
    return this.logs.filter((r) => r.event === name);
  }

  /**
   * Waits until `count` audit records with this event exist (that `match`, when given). The default deadline is
   * for a loaded machine (other test files, a 2-core VM), far past what any step takes on a quiet one. Each record
   * is matched once, as it arrives: a flood of log lines costs the test little, so it keeps reading the server's
   * output and never slows the server's own (synchronous) logging.
   */
  waitFor(event: string, count = 1, timeoutMs = 60_000, match: (record: AuditRecord) => boolean = () => true): Promise<AuditRecord[]> {
    return new Promise((resolvePromise, reject) => {
      const found = this.events(event).filter(match);
      const settled = (): boolean => {
        if (found.length < count) return false;
        done();
        resolvePromise(found);
        return true;
      };
      const exitedFirst = (): void => {
        done();
        reject(new Error(`server exited (${this.exitCode}) before ${event}: ${this.stderr.join('')}`));
      };
      const onRecord = (record: AuditRecord | null): void => {
        if (record === null) {
          if (!settled()) exitedFirst();
        } else if (record.event === event && match(record)) {
          found.push(record);
          settled();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${count}x ${event} within ${timeoutMs} ms; log: ${JSON.stringify(this.logs.slice(-10))}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(onRecord);
      };
      this.listeners.add(onRecord);
      if (!settled() && this.exited) exitedFirst();
    });
  }

  /** SIGTERM, then the exit code. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exited) return Promise.resolve(this.exitCode ?? null);
    return new Promise((resolvePromise) => {
      this.child.once('exit', (code) => resolvePromise(code));
      this.child.kill(signal);
    });
  }
}

/**
 * Starts the server with the token's PIN on fd 3 and waits until the token is logged in.
 * `env` is added to its minimal environment (e.g. a clock the test moves: server-clock.ts).
 */
export async function startServer(fixture: ServerFixture, pin: string, waitReady = true, bin = SERVER_BIN, env: Readonly<Record<string, string>> = {}): Promise<RunningServer> {
  // The installed wrapper, as systemd starts it: node with the runtime guard.
  const child = spawn(bin, ['--config', fixture.configPath, '--pin-fd', '3'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
  const pinPipe = child.stdio[3] as Writable;
  // The server closes its end once it has read the PIN; that reset is expected.
  pinPipe.on('error', () => undefined);
  pinPipe.end(`${pin}\n`);
  const server = new RunningServer(fixture, child);
  // Start-up spawns the token probe, the parser and the signer (three Node processes) and logs in: a minute and
  // more when the machine is busy.
  if (waitReady) await server.waitFor('pin.accepted', 1, 100_000);
  return server;
}

export function removeFixture(fixture: ServerFixture): void {
  rmSync(fixture.dir, { recursive: true, force: true });
}
