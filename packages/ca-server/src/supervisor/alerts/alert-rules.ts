/**
 * When the operator must hear about the CA's health: the CA certificate
 * close to its end, an issuance rate far above normal, a filesystem nearly
 * full. Pure: facts and settings in, alerts out; the clock is a parameter.
 */
const HOUR = 3600_000;
const DAY = 24 * HOUR;

export type AlertEvent = 'alert.ca-expiry' | 'alert.issuance-rate' | 'alert.disk-full';

export interface Alert {
  /** One condition: raised once, then again after repeatMs while it lasts. */
  readonly key: string;
  readonly event: AlertEvent;
  readonly message: string;
  readonly details: Readonly<Record<string, string | number>>;
  readonly repeatMs: number;
}

export interface DiskUsage {
  readonly path: string;
  /** Percent of the blocks available to root in use, and of the inodes. */
  readonly blocksPercent: number;
  readonly inodesPercent: number;
}

export function caExpiryAlert(now: number, caNotAfter: number, warnDays: number): Alert | null {
  if (warnDays === 0 || caNotAfter - now > warnDays * DAY) return null;
  const notAfter = new Date(caNotAfter).toISOString();
  const daysLeft = Math.max(0, Math.floor((caNotAfter - now) / DAY));
  const message =
    caNotAfter <= now
      ? `The CA certificate expired at ${notAfter}: no certificate can be issued.`
      : `The CA certificate expires at ${notAfter}, in ${daysLeft} day(s): certificates are cut short to end with it. Plan its renewal.`;
  return { key: 'ca-expiry', event: 'alert.ca-expiry', message, details: { notAfter, daysLeft }, repeatMs: DAY };
}

export function issuanceRateAlert(issuedLastHour: number, perHour: number): Alert | null {
  if (perHour === 0 || issuedLastHour <= perHour) return null;
  const message = `More than ${perHour} certificates were issued within the last hour (ISSUANCE_ALERT_PER_HOUR): a MyProxy account may be misused. Check the cert.issued audit records.`;
  return { key: 'issuance-rate', event: 'alert.issuance-rate', message, details: { issuedLastHour, limit: perHour }, repeatMs: HOUR };
}

export function diskAlerts(usages: readonly DiskUsage[], percent: number): Alert[] {
  return usages
    .filter((u) => u.blocksPercent > percent || u.inodesPercent > percent)
    .map((u) => ({
      key: `disk:${u.path}`,
      event: 'alert.disk-full' as const,
      message: `The filesystem of ${u.path} is nearly full: ${u.blocksPercent}% of its space and ${u.inodesPercent}% of its inodes in use (DISK_ALERT_PERCENT=${percent}).`,
      details: { path: u.path, blocksPercent: u.blocksPercent, inodesPercent: u.inodesPercent },
      repeatMs: HOUR,
    }));
}

/**
 * Which alerts to raise now: a condition is raised when it appears, again
 * every repeatMs while it lasts, and forgotten when it clears, so it is
 * raised at once if it comes back.
 */
export class AlertLatch {
  private readonly raisedAt = new Map<string, number>();

  due(active: readonly Alert[], now: number, scope: (key: string) => boolean = () => true): Alert[] {
    const activeKeys = new Set(active.map((a) => a.key));
    for (const key of [...this.raisedAt.keys()]) if (scope(key) && !activeKeys.has(key)) this.raisedAt.delete(key);
    return active.filter((alert) => {
      const last = this.raisedAt.get(alert.key);
      if (last !== undefined && now - last < alert.repeatMs) return false;
      this.raisedAt.set(alert.key, now);
      return true;
    });
  }
}
