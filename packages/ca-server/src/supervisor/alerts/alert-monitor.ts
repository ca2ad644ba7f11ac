/**
 * Watches the CA's health and tells the operator: every alert is an audit
 * record (event alert.*) and goes through the notifier. Checks run on a
 * timer; issuances are counted as the supervisor logs them (cert.issued),
 * and the rate is checked at each one, so a burst is reported while it lasts.
 */
import type { Config } from '@etoken-ca/contract/core/config';
import type { AuditLog } from '../audit-log.js';
import { AlertLatch, caExpiryAlert, diskAlerts, issuanceRateAlert, type Alert, type DiskUsage } from './alert-rules.js';
import { IssuanceWindow } from './issuance-window.js';

const HOUR = 3600_000;
const CHECK_EVERY_MS = 60_000;

export interface AlertMonitorDeps {
  readonly config: Pick<Config, 'caExpiryWarnDays' | 'issuanceAlertPerHour' | 'diskAlertPercent' | 'spoolDir' | 'caDir'>;
  readonly caNotAfter: number;
  readonly clock: () => number;
  readonly diskUsage: (path: string) => DiskUsage | null;
  readonly log: AuditLog;
  readonly notify: (event: string, details: Record<string, unknown>) => void;
}

export class AlertMonitor {
  private readonly latch = new AlertLatch();
  private readonly issued: IssuanceWindow;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: AlertMonitorDeps) {
    const limit = d.config.issuanceAlertPerHour;
    this.issued = new IssuanceWindow(HOUR, limit === 0 ? 0 : limit + 1);
  }

  /** The audit log as the supervisor should get it: unchanged, but each cert.issued is counted. */
  watch(log: AuditLog): AuditLog {
    return {
      info: (obj, msg) => {
        log.info(obj, msg);
        if ((obj as { event?: unknown }).event === 'cert.issued') this.onIssued();
      },
      warn: (obj, msg) => log.warn(obj, msg),
      error: (obj, msg) => log.error(obj, msg),
    };
  }

  onIssued(): void {
    const now = this.d.clock();
    this.issued.record(now);
    this.raise(this.rateAlerts(now), now, (key) => key === 'issuance-rate');
  }

  /** Every check once. */
  check(): void {
    const now = this.d.clock();
    const { config } = this.d;
    const usages = [config.spoolDir, config.caDir].map(this.d.diskUsage).filter((u): u is DiskUsage => u !== null);
    const active = [caExpiryAlert(now, this.d.caNotAfter, config.caExpiryWarnDays), ...this.rateAlerts(now), ...diskAlerts(usages, config.diskAlertPercent)];
    this.raise(active.filter((a): a is Alert => a !== null), now);
  }

  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private rateAlerts(now: number): Alert[] {
    const alert = issuanceRateAlert(this.issued.count(now), this.d.config.issuanceAlertPerHour);
    return alert ? [alert] : [];
  }

  private raise(active: readonly Alert[], now: number, scope?: (key: string) => boolean): void {
    for (const alert of this.latch.due(active, now, scope)) {
      this.d.log.warn({ event: alert.event, ...alert.details }, alert.message);
      this.d.notify(alert.event, { message: alert.message, ...alert.details });
    }
  }
}
