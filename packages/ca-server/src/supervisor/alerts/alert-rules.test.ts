import { describe, expect, it } from 'vitest';
import { AlertLatch, caExpiryAlert, diskAlerts, issuanceRateAlert } from './alert-rules.js';
import { IssuanceWindow } from './issuance-window.js';

const DAY = 86400_000;
const T0 = Date.UTC(2026, 5, 1);

describe('alert rules', () => {
  it('warns about the CA certificate within the configured days, and says when it has expired', () => {
    expect(caExpiryAlert(T0, T0 + 31 * DAY, 30)).toBeNull();
    expect(caExpiryAlert(T0, T0 + 29.5 * DAY, 30)).toMatchObject({ event: 'alert.ca-expiry', details: { daysLeft: 29 } });
    expect(caExpiryAlert(T0, T0 - 1, 30)?.message).toMatch(/expired/);
    expect(caExpiryAlert(T0, T0 + DAY, 0)).toBeNull();
  });

  it('raises the issuance rate alert above the limit only', () => {
    expect(issuanceRateAlert(500, 500)).toBeNull();
    expect(issuanceRateAlert(501, 500)).toMatchObject({ event: 'alert.issuance-rate', details: { issuedLastHour: 501, limit: 500 } });
    expect(issuanceRateAlert(10_000, 0)).toBeNull();
  });

  it('raises one disk alert per full filesystem, by space or by inodes', () => {
    const alerts = diskAlerts(
      [
        { path: '/var/spool/etoken-ca', blocksPercent: 50, inodesPercent: 95 },
        { path: '/var/lib/etoken-ca', blocksPercent: 90, inodesPercent: 1 },
      ],
      90,
    );
    expect(alerts.map((a) => a.key)).toEqual(['disk:/var/spool/etoken-ca']);
  });
});

describe('AlertLatch', () => {
  it('raises a condition once, again after its repeat interval, and at once when it comes back after clearing', () => {
    const latch = new AlertLatch();
    const alert = caExpiryAlert(T0, T0 + DAY, 30)!;
    expect(latch.due([alert], T0)).toHaveLength(1);
    expect(latch.due([alert], T0 + DAY - 1)).toHaveLength(0);
    expect(latch.due([alert], T0 + DAY)).toHaveLength(1);
    expect(latch.due([], T0 + DAY + 1)).toHaveLength(0);
    expect(latch.due([alert], T0 + DAY + 2)).toHaveLength(1);
  });

  it('leaves conditions outside the scope of a partial check alone', () => {
    const latch = new AlertLatch();
    const alert = caExpiryAlert(T0, T0 + DAY, 30)!;
    latch.due([alert], T0);
    latch.due([], T0 + 1, (key) => key === 'issuance-rate');
    expect(latch.due([alert], T0 + 2)).toHaveLength(0);
  });
});

describe('IssuanceWindow', () => {
  it('counts the last hour, up to its cap', () => {
    const window = new IssuanceWindow(3600_000, 3);
    for (let i = 0; i < 10; i++) window.record(T0 + i * 1000);
    expect(window.count(T0 + 10_000)).toBe(3);
    expect(window.count(T0 + 3600_000 + 8_000)).toBe(1);
    expect(window.count(T0 + 2 * 3600_000)).toBe(0);
  });
});
