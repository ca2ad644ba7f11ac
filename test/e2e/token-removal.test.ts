/**
 * The token pulled and put back end to end: myproxy-logon -> myproxy-server
 * -> etoken-ca-client -> etoken-ca-server, whose PIN is typed on a test
 * pseudo-terminal. The token really disappears on the PKCS#11 side (its
 * SoftHSM directory moved away and back); USB hotplug events are the one
 * fake, injected through --usb-events-from.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_BIN, makeServerFixture, removeFixture, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { consoleKeys, PIN_PROMPT, spawnServer, typePinAtPrompt, waitForLog } from '../helpers/console-server.js';
import { startMyProxy, type LogonResult, type MyProxyServer } from '../helpers/myproxy.js';
import { TestPty } from '../helpers/pty.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { systemUser } from '../helpers/users.js';
import { withheldProblems } from '../helpers/withheld-crl.js';

interface Setup {
  readonly token: TestToken;
  readonly pty: TestPty;
  readonly fixture: ServerFixture;
  readonly fifo: string;
  readonly server: RunningServer;
  readonly myproxy: MyProxyServer;
  /** Events NOTIFY_COMMAND was run for, one per line. */
  readonly notified: string;
}

/** A server on a fresh token, PIN typed at the first prompt, and a myproxy-server in front of it. */
async function setUp(name: string, keys: Record<string, string>): Promise<Setup> {
  const token = createTestToken({ label: `${name}-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  const pty = await TestPty.open();
  const work = mkdtempSync(`/tmp/etoken-${name}-`);
  chmodSync(work, 0o755);
  const fifo = join(work, 'usb-events');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  const notified = join(work, 'notified');
  writeFileSync(notified, '', { mode: 0o644 });
  const nobody = systemUser('nobody');
  chownSync(notified, nobody.uid, nobody.gid);
  const notifyCommand = join(work, 'notify.sh');
  writeFileSync(notifyCommand, `#!/bin/sh\necho "$ETOKEN_CA_EVENT" >> ${notified}\n`, { mode: 0o755 });
  const fixture = makeServerFixture(token, { ...consoleKeys(pty), NOTIFY_COMMAND: notifyCommand, HOOK_USER: 'nobody', ...keys });
  const server = spawnServer(fixture, ['--usb-events-from', fifo]);
  await typePinAtPrompt(pty, token.pin, 1);
  await server.waitFor('pin.accepted');
  const myproxy = await startMyProxy({ calloutPath: CLIENT_BIN, env: { ETOKEN_CA_CONFIG: fixture.configPath }, maxCertLifetime: 12 });
  return { token, pty, fixture, fifo, server, myproxy, notified };
}

async function tearDown(s: Setup | undefined): Promise<void> {
  if (!s) return;
  await s.myproxy.stop();
  await s.server.stop();
  await s.pty.close();
  s.token.cleanup();
  removeFixture(s.fixture);
  rmSync(dirname(s.fifo), { recursive: true, force: true });
}

/** What a USB hotplug event would tell the server. */
function usbEvent(s: Setup, kind: 'attach' | 'detach'): void {
  writeFileSync(s.fifo, `${kind}\n`);
}

function serialOf(pem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-serial'], { input: pem, encoding: 'utf8' }).replace('serial=', '').trim();
}

function indexLines(s: Setup): string[] {
  return readFileSync(join(s.fixture.caDir, 'index.txt'), 'utf8').split('\n').filter(Boolean);
}

/** Waits until NOTIFY_COMMAND has run `count` times for this event. */
async function notified(s: Setup, event: string, count: number): Promise<void> {
  await waitForLog(s.server, (r) => r.event === 'notify.sent' && r.notifyEvent === event, count);
  expect(readFileSync(s.notified, 'utf8').split('\n').filter((l) => l === event).length).toBeGreaterThanOrEqual(count);
}

async function logonOk(s: Setup, cn: string): Promise<string> {
  const r = await s.myproxy.logon({ username: `/O=Example/CN=${cn}`, hours: 1 });
  expect(r.code, r.stderr).toBe(0);
  return serialOf(r.certPem!);
}

describe('token removed and put back, no daemon restart', () => {
  // Each test has its own token, server and myproxy-server: each stands alone, in any order.
  let s: Setup | undefined;
  let other: TestToken | undefined;

  beforeEach(async () => {
    s = await setUp('removal', { TOKEN_POLL_INTERVAL: '1', CLIENT_TIMEOUT: '6' });
  });

  afterEach(async () => {
    await tearDown(s);
    s = undefined;
    other?.cleanup();
    other = undefined;
  });

  it('stops on a USB detach, notifies, fails requests meanwhile, and resumes after attach and a new PIN', async () => {
    const t = s!;
    await logonOk(t, 'Before Removal');
    t.token.remove();
    usbEvent(t, 'detach');
    await t.server.waitFor('token.removed');
    expect(t.server.events('usb.detach')).toHaveLength(1);
    await notified(t, 'token.removed', 1);

    const started = Date.now();
    const meanwhile = await t.myproxy.logon({ username: '/O=Example/CN=While Removed', hours: 1 });
    expect(meanwhile.code).not.toBe(0);
    expect(meanwhile.certPem).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(5000); // waited for the token until CLIENT_TIMEOUT

    t.token.restore();
    usbEvent(t, 'attach');
    await t.server.waitFor('token.inserted', 2);
    // The PIN went with the token: the server asks for it again.
    await typePinAtPrompt(t.pty, t.token.pin, 2);
    await t.server.waitFor('pin.accepted', 2);
    await notified(t, 'token.inserted', 1);
    await logonOk(t, 'After Reinsertion');
  });

  it('finds a removal without any USB event, by polling, and asks for the PIN again', async () => {
    const t = s!;
    await logonOk(t, 'Before Polling');
    t.token.remove();
    await t.server.waitFor('token.removed', 1, 60_000);
    expect(t.server.events('usb.detach')).toEqual([]);
    t.token.restore();
    await t.server.waitFor('token.inserted', 2, 60_000);
    await typePinAtPrompt(t.pty, t.token.pin, 2);
    await t.server.waitFor('pin.accepted', 2);
    expect(t.server.events('usb.attach')).toEqual([]);
    await logonOk(t, 'After Polling');
  });

  it('refuses a different token with the same label, which never gets the PIN', async () => {
    const t = s!;
    other = createTestToken({ label: t.token.label, keyType: 'rsa', owner: 'causer' });
    const tokensDir = dirname(t.token.tokenDir);
    const impostorDir = join(tokensDir, basename(other.tokenDir));
    t.token.remove();
    usbEvent(t, 'detach');
    await t.server.waitFor('token.removed');
    renameSync(other.tokenDir, impostorDir);
    try {
      usbEvent(t, 'attach');
      const [refused] = await t.server.waitFor('token.refused');
      expect(String(refused!.reason)).toMatch(/does not hold the .* CA certificate/);
      // Several more looks at the impostor, one poll interval apart: none of them asks for the PIN.
      await waitForLog(t.server, (r) => r.worker === 'signer' && /does not hold/.test(String(r.msg)), 4, 60_000);
      expect(t.pty.count(PIN_PROMPT)).toBe(1);
      expect(t.server.events('token.inserted')).toHaveLength(1);
    } finally {
      renameSync(impostorDir, other.tokenDir);
    }
    t.token.restore();
    usbEvent(t, 'attach');
    await t.server.waitFor('token.inserted', 2);
    await typePinAtPrompt(t.pty, t.token.pin, 2);
    await t.server.waitFor('pin.accepted', 2);
    await logonOk(t, 'After Impostor');
  });
});

describe('token removed in the middle of a stream of logons', () => {
  let s: Setup;

  // Presence polls far apart: the removal is found by the signature it breaks, so some signature surely overlaps it.
  beforeAll(async () => {
    s = await setUp('stream', { TOKEN_POLL_INTERVAL: '60', CLIENT_TIMEOUT: '40' });
  });

  afterAll(() => tearDown(s));

  it('withholds every certificate signed across the removal and issues all the others after re-insertion', async () => {
    const results: LogonResult[] = [];
    let stop = false;
    let n = 0;
    const worker = async (): Promise<void> => {
      while (!stop) results.push(await s.myproxy.logon({ username: `/O=Example/CN=Stream ${n++}`, hours: 1 }));
    };
    const succeeded = (): number => results.filter((r) => r.code === 0).length;
    const waitForSuccesses = async (count: number): Promise<void> => {
      while (succeeded() < count) await s.server.waitFor('cert.issued', s.server.events('cert.issued').length + 1, 60_000);
    };
    const workers = Array.from({ length: 4 }, worker);

    await waitForSuccesses(4);
    s.token.remove();
    await s.server.waitFor('cert.withheld', 1, 60_000);
    usbEvent(s, 'detach');
    await s.server.waitFor('token.removed');
    s.token.restore();
    usbEvent(s, 'attach');
    await typePinAtPrompt(s.pty, s.token.pin, 2);
    await s.server.waitFor('pin.accepted', 2);
    const beforeResume = succeeded();
    await waitForSuccesses(beforeResume + 8);
    stop = true;
    await Promise.all(workers);

    const withheld = s.server.events('cert.withheld').map((r) => String(r.serial));
    expect(withheld.length).toBeGreaterThanOrEqual(1);
    const lines = indexLines(s);
    for (const serial of withheld) {
      expect(lines.some((l) => l.startsWith('R\t') && l.includes(',cessationOfOperation\t') && l.includes(`\t${serial}\t`))).toBe(true);
    }
    const handedOut = results.filter((r) => r.code === 0).map((r) => serialOf(r.certPem!));
    expect(handedOut.filter((serial) => withheld.includes(serial))).toEqual([]);
    for (const serial of handedOut) expect(lines.some((l) => l.startsWith('V\t') && l.includes(`\t${serial}\t`))).toBe(true);
    // Every logon either got a good certificate or was one of the withheld: none failed for another reason.
    const failed = results.filter((r) => r.code !== 0);
    expect(failed.length).toBe(withheld.length);
    for (const r of failed) expect(r.certPem).toBeNull();
    expect(s.server.events('pin.accepted')).toHaveLength(2);
    // Beyond index.txt: each withheld serial is in the next published CRL as cessationOfOperation, and no logon printed it.
    const printed = results.flatMap((r) => [r.stdout, r.certPem ?? '']);
    expect(await withheldProblems(s.server, withheld, printed)).toEqual([]);
  });
});
