/**
 * The notifier for real: NOTIFY_COMMAND run as the hook user with the event
 * in its environment, a hanging command killed after its time limit, email
 * received by a local SMTP server with credentials from a root-only file,
 * and the server refusing a credentials file others can read.
 */
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifier } from '../../packages/ca-server/dist/supervisor/notify/notifier.js';
import { readCredentialsFile } from '../../packages/ca-server/dist/supervisor/notify/smtp-credentials.js';
import { lookupUser } from '../../packages/ca-server/dist/supervisor/proc.js';
import { makeServerFixture, removeFixture } from '../helpers/ca-server.js';
import { exitStatus, spawnServer } from '../helpers/console-server.js';
import { createTestToken } from '../helpers/softhsm.js';
import { pollUntil } from '../helpers/wait-until.js';

interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly record: Record<string, unknown>;
  readonly msg: string;
}

function collectingLog(lines: LogLine[]) {
  const at = (level: LogLine['level']) => (record: object, msg: string) => lines.push({ level, record: record as Record<string, unknown>, msg });
  return { info: at('info'), warn: at('warn'), error: at('error') };
}

const hookUser = lookupUser('nobody')!;
let dir: string;

function endedOrZombie(pid: string): boolean {
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'latin1') : '';
  return stat === '' || / [ZX] /.test(stat.slice(stat.lastIndexOf(')')));
}

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

beforeAll(() => {
  dir = mkdtempSync('/tmp/etoken-notify-');
  chmodSync(dir, 0o755);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('NOTIFY_COMMAND', () => {
  it('runs as the hook user with the event in a minimal environment', async () => {
    const out = join(dir, 'command-out');
    writeFileSync(out, '', { mode: 0o644 });
    chownSync(out, hookUser.uid, hookUser.gid);
    const command = script('notify.sh', `{ id -u; id -G; env; } > ${out}`);
    const lines: LogLine[] = [];
    const notifier = createNotifier({ command, mail: null, account: hookUser, timeoutMs: 10_000, log: collectingLog(lines) });
    await notifier.notify('token.removed', { tokenSerial: '22d85e3b643363fb', reason: 'presence check failed' });

    const [uid, groups, ...env] = readFileSync(out, 'utf8').trim().split('\n');
    expect(Number(uid)).toBe(hookUser.uid);
    expect(groups).toBe(String(hookUser.gid)); // no supplementary groups
    expect(env).toContain('ETOKEN_CA_EVENT=token.removed');
    expect(env).toContain('ETOKEN_CA_TOKEN_SERIAL=22d85e3b643363fb');
    expect(env).toContain('ETOKEN_CA_REASON=presence check failed');
    expect(env.some((l) => l.startsWith('ETOKEN_CA_MESSAGE=The CA token was removed'))).toBe(true);
    const names = env.map((l) => l.split('=')[0]);
    expect(names.filter((n) => !/^(ETOKEN_CA_|PATH$|PWD$|SHLVL$|_$)/.test(n!))).toEqual([]);
    expect(lines.map((l) => l.record.event)).toEqual(['notify.sent']);
  });

  it('kills a hanging command and what it started after the time limit, and only logs it', async () => {
    const pids = join(dir, 'hang-pids');
    writeFileSync(pids, '', { mode: 0o644 });
    chownSync(pids, hookUser.uid, hookUser.gid);
    const command = script('hang.sh', `sleep 600 & echo $$ $! > ${pids}; wait`);
    const lines: LogLine[] = [];
    const notifier = createNotifier({ command, mail: null, account: hookUser, timeoutMs: 1000, log: collectingLog(lines) });
    const started = Date.now();
    await notifier.notify('pin.rejected', {});
    // Killed at its limit, not waited for (its sleep lasts ten minutes): a bound far from both, for a busy machine.
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('warn');
    expect(lines[0]!.record.event).toBe('notify.failed');
    expect(lines[0]!.msg).toMatch(/ran past its time limit/);
    // SIGKILL is sent to the group at the limit; a process's teardown after its pipes close is the kernel's and
    // takes a moment, so each is given a few seconds to be gone (or a zombie), far less than its ten-minute sleep.
    for (const pid of readFileSync(pids, 'utf8').trim().split(' ')) {
      await pollUntil(() => endedOrZombie(pid), 10_000, () => `process ${pid} of the hanging command still runs`, 20);
    }
  });

  it('logs a command that fails, and goes on', async () => {
    const lines: LogLine[] = [];
    const notifier = createNotifier({ command: script('fail.sh', 'echo broken >&2; exit 3'), mail: null, account: hookUser, timeoutMs: 5000, log: collectingLog(lines) });
    await notifier.notify('token.inserted');
    expect(lines[0]!.msg).toMatch(/exit status 3/);
    expect(lines[0]!.record.output).toBe('broken\n');
  });
});

describe('email', () => {
  const received: Array<{ from: string; to: string[]; user: string; data: string }> = [];
  let smtp: SMTPServer;
  let port: number;

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
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            user: String(session.user),
            data,
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    port = (smtp.server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => smtp.close(() => resolve())));

  it('sends the event to NOTIFY_EMAIL through the relay, logged in with the root-only credentials', async () => {
    const credentialsFile = join(dir, 'smtp-credentials');
    writeFileSync(credentialsFile, 'relay-user:relay:secret\n', { mode: 0o600 });
    const lines: LogLine[] = [];
    const notifier = createNotifier({
      command: '',
      mail: { to: ['ops@example.org', 'ca@example.org'], from: 'etoken-ca@ca.example.org', smtpUrl: `smtp://127.0.0.1:${port}`, credentials: readCredentialsFile(credentialsFile) },
      account: hookUser,
      timeoutMs: 20_000,
      log: collectingLog(lines),
    });
    await notifier.notify('token.removed', { tokenSerial: 'abc123' });
    expect(lines.map((l) => `${String(l.record.event)} ${l.msg} ${String(l.record.output ?? '')}`)).toEqual([expect.stringMatching(/^notify.sent email/)]);
    expect(received).toHaveLength(1);
    const mail = received[0]!;
    expect(mail.user).toBe('relay-user');
    expect(mail.from).toBe('etoken-ca@ca.example.org');
    expect(mail.to).toEqual(['ops@example.org', 'ca@example.org']);
    expect(mail.data).toMatch(/^Subject: \[etoken-ca\] token\.removed on /m);
    expect(mail.data).toContain('tokenSerial: abc123');
    expect(mail.data).not.toContain('relay:secret');
  });

  it('logs a relay that refuses the login, without the password', async () => {
    const lines: LogLine[] = [];
    const notifier = createNotifier({
      command: '',
      mail: { to: ['ops@example.org'], from: 'etoken-ca@localhost', smtpUrl: `smtp://127.0.0.1:${port}`, credentials: { user: 'relay-user', pass: 'wrong-password' } },
      account: hookUser,
      timeoutMs: 20_000,
      log: collectingLog(lines),
    });
    await notifier.notify('pin.locked');
    expect(lines[0]!.record.event).toBe('notify.failed');
    expect(JSON.stringify(lines)).not.toContain('wrong-password');
  });
});

describe('SMTP_CREDENTIALS_FILE', () => {
  it('stops the server with exit 78 when group or others can read it', async () => {
    const token = createTestToken({ label: `notify-${process.pid}`, keyType: 'ec-p256' });
    const credentialsFile = join(dir, 'loose-credentials');
    writeFileSync(credentialsFile, 'u:p\n', { mode: 0o640 });
    const fixture = makeServerFixture(token, { SMTP_CREDENTIALS_FILE: credentialsFile, NOTIFY_EMAIL: 'ops@example.org' });
    try {
      const server = spawnServer(fixture);
      expect(await exitStatus(server)).toBe(78);
      expect(server.stderr.join('')).toMatch(/SMTP_CREDENTIALS_FILE: .*loose-credentials is readable or writable by group or others/);
    } finally {
      removeFixture(fixture);
      token.cleanup();
    }
  });
});
