import { describe, expect, it } from 'vitest';
import type { DiskUsage } from './alert-rules.js';
import { AlertMonitor } from './alert-monitor.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 5, 1);

function setUp(caNotAfter: number, full: Record<string, number> = {}) {
  let now = T0;
  const notified: Array<{ event: string; details: Record<string, unknown> }> = [];
  const logged: Array<Record<string, unknown>> = [];
  const sink = { info: () => undefined, warn: (obj: object) => void logged.push(obj as Record<string, unknown>), error: () => undefined };
  const usage = (path: string): DiskUsage => ({ path, blocksPercent: full[path] ?? 10, inodesPercent: 1 });
  const monitor = new AlertMonitor({
    config: { caExpiryWarnDays: 30, issuanceAlertPerHour: 5, diskAlertPercent: 90, spoolDir: '/spool', caDir: '/ca' },
    caNotAfter,
    clock: () => now,
    diskUsage: usage,
    log: sink,
    notify: (event, details) => void notified.push({ event, details }),
  });
  return { monitor, notified, logged, advance: (ms: number) => void (now += ms) };
}

describe('AlertMonitor with a controlled clock', () => {
  it('warns daily as the CA certificate approaches its end, not before the configured days', () => {
    const s = setUp(T0 + 40 * DAY);
    for (let day = 0; day < 40; day++) {
      s.monitor.check();
      s.advance(HOUR);
      s.monitor.check();
      s.advance(DAY - HOUR);
    }
    const warnings = s.notified.filter((n) => n.event === 'alert.ca-expiry');
    expect(warnings).toHaveLength(30);
    expect(warnings[0]!.details.daysLeft).toBe(30);
    expect(s.logged.filter((l) => l.event === 'alert.ca-expiry')).toHaveLength(30);
  });

  it('raises the issuance rate alert during a burst, at most hourly, and again when a new burst comes', () => {
    const s = setUp(T0 + 365 * DAY);
    const log = s.monitor.watch({ info: () => undefined, warn: () => undefined, error: () => undefined });
    for (let i = 0; i < 5; i++) log.info({ event: 'cert.issued' }, 'issued');
    expect(s.notified).toHaveLength(0);
    for (let i = 0; i < 20; i++) log.info({ event: 'cert.issued' }, 'issued');
    expect(s.notified.map((n) => n.event)).toEqual(['alert.issuance-rate']);
    s.advance(2 * HOUR);
    s.monitor.check();
    log.info({ event: 'cert.issued' }, 'issued');
    expect(s.notified).toHaveLength(1);
    for (let i = 0; i < 6; i++) log.info({ event: 'cert.refused' }, 'refused');
    expect(s.notified).toHaveLength(1);
    for (let i = 0; i < 6; i++) log.info({ event: 'cert.issued' }, 'issued');
    expect(s.notified).toHaveLength(2);
  });

  it('names the filesystem that is nearly full', () => {
    const s = setUp(T0 + 365 * DAY, { '/spool': 97 });
    s.monitor.check();
    expect(s.notified).toEqual([{ event: 'alert.disk-full', details: expect.objectContaining({ path: '/spool', blocksPercent: 97 }) }]);
  });
});
