/**
 * The server's log as its modules see it: every record names its event, and
 * every event name is one of these. Security events (issuance, refusals,
 * revocations, the token, the PIN) are the audit trail operators keep for
 * years; a name that exists only here is one place to look them up.
 */
import { SCEP_AUDIT_EVENTS } from './scep/scep-events.js';

export const AUDIT_EVENTS = [
  ...SCEP_AUDIT_EVENTS,
  // requests
  'request.received',
  'request.repeated',
  'request.abandoned',
  'request.failed',
  'spool.rejected',
  'spool.watch',
  'request.unpublished',
  'spool.foreign',
  'answer.failed',
  // certificates
  'cert.issued',
  'cert.refused',
  'cert.withheld',
  'cert.revoked',
  'newcert.rewritten',
  // revocation and CRLs
  'revocation.check',
  'revocation.waiting',
  'revocation.rejected',
  'revocation.refused',
  'revocation.failed',
  'revocation.pruned',
  'revocation.watch',
  'crl.issued',
  'crl.not-published',
  'crl.expiring',
  'crl.pruned',
  'hook.post-crl',
  'hook.post-crl.failed',
  // token and PIN
  'token.inserted',
  'token.removed',
  'token.absent',
  'token.refused',
  'token.locked',
  'token.unlocked',
  'token.failing',
  'token.selftest',
  'pin.accepted',
  'pin.rejected',
  'pin.locked',
  'pin.not-tried',
  'pin.unavailable',
  'pin.non-console',
  'pin.console-failed',
  'usb.attach',
  'usb.detach',
  'usb.none',
  'usb.events',
  // the server's processes
  'worker.diagnostic',
  'worker.exited',
  'worker.untrusted',
  'signer.exited',
  'server.started',
  'server.stopping',
  'server.stopped',
  'server.signal',
  'db.loaded',
  'db.imported',
  // the CA database's files
  'db.checkpoint',
  'db.checkpoint-failed',
  'db.cold-read',
  'db.cold-summary-unusable',
  'db.left-on-disk',
  'db.rotated',
  'db.write-failed',
  'db.flush-failed',
  'db.recovered',
  'db.unavailable',
  'db.disk-low',
  'db.disk-ok',
  'db.journal-damaged',
  'audit.passed',
  'audit.failed',
  'audit.token-absent',
  'notify.sent',
  'notify.failed',
  'alert.ca-expiry',
  'alert.issuance-rate',
  'alert.disk-full',
  'alert.ca-disk-reserve',
  'alert.ca-database',
] as const;

export type AuditEvent = (typeof AUDIT_EVENTS)[number];

export interface AuditRecord {
  readonly event: AuditEvent;
  readonly [field: string]: unknown;
}

export interface AuditLog {
  info(record: AuditRecord, message: string): void;
  warn(record: AuditRecord, message: string): void;
  error(record: AuditRecord, message: string): void;
}
