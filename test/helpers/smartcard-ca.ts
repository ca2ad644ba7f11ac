/**
 * The real etoken-ca-server on the smart-card test module (a SoftHSM token
 * that behaves like a USB eToken, see test/pkcs11-smartcard/README.md),
 * loaded through PKCS11_MODULE like a vendor module. The PIN comes over
 * --pin-fd, or is typed on a test pseudo-terminal (`console: true`), which
 * is what a token that comes back after a removal needs.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from './ca-server.js';
import { consoleKeys, spawnServer, typePinAtPrompt } from './console-server.js';
import { TestPty } from './pty.js';
import { createSmartcardControl, smartcardModule, type SmartcardControl } from './smartcard.js';
import { createTestToken, type TestToken } from './softhsm.js';
import { systemUser } from './users.js';

export interface SmartcardCa {
  readonly token: TestToken;
  readonly card: SmartcardControl;
  readonly fixture: ServerFixture;
  readonly server: RunningServer;
  /** The PIN console, with `console: true`. */
  readonly pty: TestPty | null;
  /** Events NOTIFY_COMMAND was run for, one per line. */
  notified(): string[];
  stop(): Promise<void>;
}

export interface SmartcardCaOptions {
  /** Config keys on top of the fixture's (CLIENT_TIMEOUT, TOKEN_POLL_INTERVAL, ...). */
  readonly keys?: Record<string, string>;
  /** The token's signature latency, ms (the module's default is 250). */
  readonly latencyMs?: number;
  /** PIN on a pseudo-terminal instead of --pin-fd; the first prompt is answered with the right PIN unless `typePin` is false. */
  readonly console?: boolean;
  readonly typePin?: boolean;
}

export async function startSmartcardCa(name: string, options: SmartcardCaOptions = {}): Promise<SmartcardCa> {
  const token = createTestToken({ label: `${name}-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  const card = createSmartcardControl('causer');
  if (options.latencyMs !== undefined) card.setSignLatency(options.latencyMs);
  const work = mkdtempSync(`/tmp/etoken-${name}-`);
  chmodSync(work, 0o755);
  const notifiedFile = join(work, 'notified');
  writeFileSync(notifiedFile, '', { mode: 0o644 });
  const nobody = systemUser('nobody');
  chownSync(notifiedFile, nobody.uid, nobody.gid);
  const notifyCommand = join(work, 'notify.sh');
  writeFileSync(notifyCommand, `#!/bin/sh\necho "$ETOKEN_CA_EVENT" >> ${notifiedFile}\n`, { mode: 0o755 });
  const pty = options.console ? await TestPty.open() : null;
  const fixture = makeServerFixture(token, {
    PKCS11_MODULE: smartcardModule(),
    PKCS11_ENV: card.pkcs11Env(token),
    NOTIFY_COMMAND: notifyCommand,
    HOOK_USER: 'nobody',
    ...(pty ? consoleKeys(pty) : {}),
    ...options.keys,
  });
  let server: RunningServer;
  if (pty) {
    server = spawnServer(fixture);
    if (options.typePin !== false) {
      await typePinAtPrompt(pty, token.pin, 1);
      await server.waitFor('pin.accepted');
    }
  } else {
    server = await startServer(fixture, token.pin);
  }
  return {
    token,
    card,
    fixture,
    server,
    pty,
    notified: () => readFileSync(notifiedFile, 'utf8').split('\n').filter(Boolean),
    async stop() {
      await server.stop();
      await pty?.close();
      token.cleanup();
      card.cleanup();
      removeFixture(fixture);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** pkcs11-tool on the smart-card module as causer (the token's owner), e.g. to unlock the PIN with the SO PIN. */
export function smartcardTool(ca: Pick<SmartcardCa, 'card' | 'token'>, args: readonly string[]): string {
  const causer = systemUser('causer');
  return execFileSync('pkcs11-tool', ['--module', smartcardModule(), ...args], {
    uid: causer.uid,
    gid: causer.gid,
    cwd: '/',
    env: { PATH: '/usr/bin:/bin', ...ca.card.moduleEnv(ca.token) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The serial of a PEM certificate, as index.txt spells it. */
export function serialOf(pem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-serial'], { input: pem, encoding: 'utf8' }).replace('serial=', '').trim();
}

/** index.txt's lines. */
export function indexLines(ca: SmartcardCa): string[] {
  try {
    return readFileSync(join(ca.fixture.caDir, 'index.txt'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
