/**
 * Alerts raised by a running server, end to end: the issuance rate past
 * ISSUANCE_ALERT_PER_HOUR while certificates are issued, the spool's
 * filesystem (a small tmpfs) past DISK_ALERT_PERCENT in space at start-up
 * and in inodes as they fill, each an alert.* audit record, run through
 * NOTIFY_COMMAND as the hook user and mailed to NOTIFY_EMAIL through an SMTP
 * relay in the test (logged in with the root-only credentials file).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { issueThroughClient } from '../helpers/revocation.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { systemUser } from '../helpers/users.js';
import { pollUntil } from '../helpers/wait-until.js';

interface Mail {
  readonly user: string;
  readonly to: readonly string[];
  readonly data: string;
}

const hookUser = systemUser('nobody');
const mails: Mail[] = [];
let smtp: SMTPServer;
let smtpPort: number;
let token: TestToken;
let fixture: ServerFixture | undefined;
let server: RunningServer | undefined;
let mounted: string | undefined;

/** A fixture whose server tells NOTIFY_COMMAND (lines "event|message" in a file) and mails the relay. */
function alertingFixture(settings: Record<string, string>): { fixture: ServerFixture; notified: () => string[] } {
  const f = makeServerFixture(token, { HOOK_USER: 'nobody', ...settings });
  fixture = f;
  const out = join(f.dir, 'notified');
  writeFileSync(out, '', { mode: 0o644 });
  chownSync(out, hookUser.uid, hookUser.gid);
  const notify = join(f.dir, 'notify.sh');
  writeFileSync(notify, `#!/bin/sh\necho "$ETOKEN_CA_EVENT|$ETOKEN_CA_MESSAGE" >> ${out}\n`, { mode: 0o755 });
  const credentials = join(f.dir, 'smtp-credentials');
  writeFileSync(credentials, 'relay-user:relay:secret\n', { mode: 0o600 });
  const extra = {
    NOTIFY_COMMAND: notify,
    NOTIFY_EMAIL: 'ops@example.org',
    NOTIFY_FROM: 'etoken-ca@ca.example.org',
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    SMTP_CREDENTIALS_FILE: credentials,
  };
  writeFileSync(f.configPath, readFileSync(f.configPath, 'utf8') + Object.entries(extra).map(([k, v]) => `${k}="${v}"\n`).join(''));
  return { fixture: f, notified: () => readFileSync(out, 'utf8').split('\n').filter(Boolean) };
}

/** A small tmpfs as the spool's filesystem (root 0755, as the server wants the spool root). */
function spoolOnTmpfs(f: ServerFixture, options: string): void {
  mkdirSync(f.spoolDir, { mode: 0o755 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `${options},mode=0755`, 'tmpfs', f.spoolDir]);
  mounted = f.spoolDir;
}

async function mailArrives(event: string, count: number): Promise<Mail[]> {
  const about = (): Mail[] => mails.filter((m) => new RegExp(`^Subject: \\[etoken-ca\\] ${event.replace('.', '\\.')} on `, 'm').test(m.data));
  await pollUntil(() => about().length >= count, 60_000, () => `${count} mail(s) about ${event} did not arrive (got ${mails.length} in all)`);
  return about();
}

beforeAll(async () => {
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === 'relay-user' && auth.password === 'relay:secret') callback(null, { user: auth.username });
      else callback(new Error('bad login'));
    },
    onData(stream, session, callback) {
      let data = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (data += chunk));
      stream.on('end', () => {
        mails.push({ user: String(session.user), to: session.envelope.rcptTo.map((r) => r.address), data });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
  token = createTestToken({ label: `alerts-srv-${process.pid}`, keyType: 'ec-p256', owner: 'causer' });
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
  if (mounted) execFileSync('umount', [mounted]);
  mounted = undefined;
  if (fixture) removeFixture(fixture);
  fixture = undefined;
  mails.length = 0;
});

afterAll(async () => {
  token?.cleanup();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

describe('alerts of a running server', () => {
  it('raises alert.issuance-rate once issuance passes ISSUANCE_ALERT_PER_HOUR, by NOTIFY_COMMAND and by email, once an hour', async () => {
    const { fixture: f, notified } = alertingFixture({ ISSUANCE_ALERT_PER_HOUR: '2' });
    server = await startServer(f, token.pin);
    for (let i = 0; i < 2; i++) await issueThroughClient(f, `Rate User ${i}`);
    expect(server.events('alert.issuance-rate')).toEqual([]);

    await issueThroughClient(f, 'Rate User 2');
    const [alert] = await server.waitFor('alert.issuance-rate');
    expect(alert).toMatchObject({ issuedLastHour: 3, limit: 2 });
    expect(alert!.msg).toMatch(/More than 2 certificates were issued within the last hour/);
    await pollUntil(() => notified().some((l) => l.startsWith('alert.issuance-rate|More than 2 certificates')), 60_000, () => `NOTIFY_COMMAND not run: ${notified().join(' / ')}`);
    const [mail] = await mailArrives('alert.issuance-rate', 1);
    expect(mail).toMatchObject({ user: 'relay-user', to: ['ops@example.org'] });
    expect(mail!.data).toContain('More than 2 certificates were issued within the last hour');
    expect(mail!.data).not.toContain('relay:secret');

    // Still past the limit: not told again within the hour.
    await issueThroughClient(f, 'Rate User 3');
    // An alert is logged in the same turn as its cert.issued record, before the next request is even read.
    await issueThroughClient(f, 'Rate User 4');
    await server.waitFor('request.received', 5);
    expect(server.events('alert.issuance-rate')).toHaveLength(1);
    expect(server.events('notify.failed')).toEqual([]);
  });

  it("raises alert.disk-full at start-up when the spool's filesystem is fuller than DISK_ALERT_PERCENT", async () => {
    const { fixture: f, notified } = alertingFixture({ DISK_ALERT_PERCENT: '50' });
    spoolOnTmpfs(f, 'size=1m,nr_inodes=1000');
    // 700 KiB of the 1 MiB in a file root left in the spool's root.
    writeFileSync(join(f.spoolDir, 'filler'), Buffer.alloc(700 * 1024, 1), { mode: 0o600 });
    server = await startServer(f, token.pin);
    const [alert] = await server.waitFor('alert.disk-full', 1, 30_000, (r) => r.path === f.spoolDir);
    expect(Number(alert!.blocksPercent)).toBeGreaterThan(50);
    expect(Number(alert!.inodesPercent)).toBeLessThanOrEqual(50);
    await pollUntil(() => notified().some((l) => l.startsWith(`alert.disk-full|The filesystem of ${f.spoolDir} is nearly full`)), 60_000, () => `NOTIFY_COMMAND not run: ${notified().join(' / ')}`);
    const [mail] = await mailArrives('alert.disk-full', 1);
    expect(mail!.data).toContain(f.spoolDir);
    // The CA keeps issuing meanwhile.
    await issueThroughClient(f, 'Disk User');
  });

  it("raises alert.disk-full at the next periodic check once the spool's inodes fill past DISK_ALERT_PERCENT", async () => {
    const { fixture: f, notified } = alertingFixture({ DISK_ALERT_PERCENT: '50' });
    spoolOnTmpfs(f, 'size=4m,nr_inodes=100');
    server = await startServer(f, token.pin);
    await server.waitFor('crl.issued');
    expect(server.events('alert.disk-full').filter((r) => r.path === f.spoolDir)).toEqual([]);
    // Empty files root leaves in the spool's root: inodes, no space.
    mkdirSync(join(f.spoolDir, 'inode-filler'), { mode: 0o700 });
    for (let i = 0; i < 60; i++) writeFileSync(join(f.spoolDir, 'inode-filler', String(i)), '');
    // Checked every minute: a deadline well past one check.
    const [alert] = await server.waitFor('alert.disk-full', 1, 150_000, (r) => r.path === f.spoolDir);
    expect(Number(alert!.inodesPercent)).toBeGreaterThan(50);
    expect(Number(alert!.blocksPercent)).toBeLessThanOrEqual(50);
    await pollUntil(() => notified().some((l) => l.startsWith('alert.disk-full|')), 60_000, () => `NOTIFY_COMMAND not run: ${notified().join(' / ')}`);
    await mailArrives('alert.disk-full', 1);
  }, 240_000);
});
