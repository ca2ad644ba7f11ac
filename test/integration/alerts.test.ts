/**
 * Alerts for real: the alert monitor with a clock the test controls, feeding
 * the real notifier (NOTIFY_COMMAND as the hook user); and the real server
 * raising its alerts at start-up, each as an alert.* audit record and a
 * notification.
 */
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertMonitor } from '../../packages/ca-server/dist/supervisor/alerts/alert-monitor.js';
import { diskUsage } from '../../packages/ca-server/dist/supervisor/alerts/disk-usage.js';
import { createNotifier } from '../../packages/ca-server/dist/supervisor/notify/notifier.js';
import { lookupUser } from '../../packages/ca-server/dist/supervisor/proc.js';
import { makeServerFixture, removeFixture, startServer } from '../helpers/ca-server.js';
import { createTestToken } from '../helpers/softhsm.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const hookUser = lookupUser('nobody')!;
let dir: string;
let received: string;
let command: string;

/** The events NOTIFY_COMMAND was run for, in order. */
const notifiedEvents = (): string[] => readFileSync(received, 'utf8').split('\n').filter(Boolean);

beforeAll(() => {
  dir = mkdtempSync('/tmp/etoken-alerts-');
  chmodSync(dir, 0o755);
  received = join(dir, 'received');
  writeFileSync(received, '', { mode: 0o644 });
  chownSync(received, hookUser.uid, hookUser.gid);
  command = join(dir, 'notify.sh');
  writeFileSync(command, `#!/bin/sh\necho "$ETOKEN_CA_EVENT" >> ${received}\n`, { mode: 0o755 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('alerts with a controlled clock', () => {
  it('reach the operator through NOTIFY_COMMAND and the audit log', async () => {
    writeFileSync(received, '');
    let now = Date.UTC(2027, 0, 1);
    const warned: Array<Record<string, unknown>> = [];
    const log = { info: () => undefined, warn: (obj: object) => void warned.push(obj as Record<string, unknown>), error: () => undefined };
    const notifier = createNotifier({ command, mail: null, account: hookUser, timeoutMs: 10_000, log });
    const sent: Promise<void>[] = [];
    const monitor = new AlertMonitor({
      config: { caExpiryWarnDays: 30, issuanceAlertPerHour: 10, diskAlertPercent: 90, spoolDir: '/spool', caDir: '/ca' },
      caNotAfter: now + 45 * DAY,
      clock: () => now,
      diskUsage: (path) => ({ path, blocksPercent: path === '/ca' ? 95 : 20, inodesPercent: 3 }),
      log,
      notify: (event, details) => void sent.push(notifier.notify(event, details)),
    });

    monitor.check();
    now += 16 * DAY;
    monitor.check();
    const audited = monitor.watch(log);
    for (let i = 0; i < 11; i++) audited.info({ event: 'cert.issued', serial: String(i) }, 'issued');
    await Promise.all(sent);

    // The full disk is told again after its hourly repeat; the CA expiry once its 30 days have begun.
    const expected = ['alert.ca-expiry', 'alert.disk-full', 'alert.disk-full', 'alert.issuance-rate'];
    expect(notifiedEvents().sort()).toEqual(expected);
    expect(warned.filter((w) => String(w.event).startsWith('alert.')).map((w) => String(w.event)).sort()).toEqual(expected);
    expect(warned.find((w) => w.event === 'alert.ca-expiry')?.daysLeft).toBe(29);
  });

  it('measures real filesystems', () => {
    const usage = diskUsage(dir)!;
    expect(usage.blocksPercent).toBeGreaterThan(0);
    expect(usage.blocksPercent).toBeLessThanOrEqual(100);
    expect(diskUsage(join(dir, 'missing'))).toBeNull();
  });
});

describe('alerts of the running server', () => {
  it('raises the CA expiry and disk alerts at start-up', async () => {
    writeFileSync(received, '');
    const token = createTestToken({ label: `alerts-${process.pid}`, keyType: 'rsa', owner: 'causer' });
    // The test CA certificate has five years left and the disk is not full: the thresholds make both true.
    const fixture = makeServerFixture(token, { CA_EXPIRY_WARN_DAYS: '3650', DISK_ALERT_PERCENT: '1', NOTIFY_COMMAND: command, HOOK_USER: 'nobody' });
    const server = await startServer(fixture, token.pin);
    try {
      const [expiry] = await server.waitFor('alert.ca-expiry');
      expect(expiry!.msg).toMatch(/The CA certificate expires at/);
      await server.waitFor('alert.disk-full');
      await server.waitFor('notify.sent', 3);
      expect(notifiedEvents()).toEqual(expect.arrayContaining(['alert.ca-expiry', 'alert.disk-full']));
    } finally {
      await server.stop();
      token.cleanup();
      removeFixture(fixture);
    }
  });
});
