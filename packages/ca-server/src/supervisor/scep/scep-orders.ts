/**
 * The operators' SCEP orders (SCEP_QUEUE_DIR): challenges, approvals and
 * RA certificates, carried out in the journal and answered in done/, which
 * the waiting command reads. The queue directory is the revocation queue's
 * kind (root only) and watched the same way.
 */
import type { Config } from '@etoken-ca/contract/core/config';
import { parseSlashDn, onelineDn } from '@etoken-ca/contract/core/dn';
import { EtokenError } from '@etoken-ca/contract/core/exit-codes';
import { queueEntryName } from '@etoken-ca/contract/core/revocation-queue';
import type { ScepOrder, ScepOrderResult } from '@etoken-ca/contract/core/scep/scep-orders';
import { ensureQueueDir, pendingIds, queueLayout, type QueueLayout } from '@etoken-ca/contract/io/revocation-queue-dir';
import { moveScepOrderToDone, readScepOrder } from '@etoken-ca/contract/io/scep-orders-dir';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditLog } from '../audit-log.js';
import { pruneDoneEntries } from '../revocation/done-entries.js';
import { QueueWatcher } from '../revocation/queue-watcher.js';
import { derToPem } from '../store/ca-store.js';
import { issueScepCertificate, type IssuanceDeps } from './scep-issuance.js';
import type { ScepService } from './scep-service.js';

const RESCAN_MS = 5_000;
/** done/ answers the operator's command, which waits for it at most minutes: a day later it goes, as revocations' do. */
const DONE_KEEP_MS = 86_400_000;

export class ScepOrders {
  private readonly layout: QueueLayout;
  private readonly watcher: QueueWatcher;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly d: IssuanceDeps & { readonly config: Config; readonly log: AuditLog },
    private readonly service: ScepService,
  ) {
    this.layout = queueLayout(d.config.scepQueueDir);
    ensureQueueDir(this.layout);
    this.watcher = new QueueWatcher({
      dir: this.layout.dir,
      rescanMs: RESCAN_MS,
      onNudge: () => this.nudge(),
      onProblem: (message) => d.log.warn({ event: 'scep.order' }, message),
    });
  }

  start(): void {
    this.watcher.start();
    this.nudge();
  }

  stop(): void {
    this.watcher.stop();
  }

  nudge(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((e: Error) => this.d.log.error({ event: 'scep.order', err: e.message }, `SCEP orders: ${e.message}`))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.nudge();
        }
      });
  }

  private async drain(): Promise<void> {
    const removed = pruneDoneEntries(this.layout, this.d.clock() - DONE_KEEP_MS);
    if (removed > 0) this.d.log.info({ event: 'scep.order', removed }, `removed ${removed} SCEP order answers older than a day`);
    for (const id of pendingIds(this.layout)) {
      const order = readScepOrder(this.layout, id);
      if (!order) {
        this.d.log.warn({ event: 'scep.order', id }, `SCEP order ${id} is not well-formed: removed`);
        unlinkSync(join(this.layout.dir, queueEntryName(id)));
        continue;
      }
      const result = await this.carryOut(order);
      this.d.log.info({ event: 'scep.order', id, kind: order.kind, by: order.by, ok: result.ok }, `SCEP order ${order.kind} by ${order.by}: ${result.message}`);
      moveScepOrderToDone(this.layout, { ...order, result, doneAt: this.d.clock() });
    }
  }

  private async carryOut(order: ScepOrder): Promise<ScepOrderResult> {
    switch (order.kind) {
      case 'challenge':
        return this.challenge(order);
      case 'approve':
        return this.service.approve(order.txid, order.by);
      case 'ra-cert':
        return this.raCertificate(order);
    }
  }

  private async challenge(order: Extract<ScepOrder, { kind: 'challenge' }>): Promise<ScepOrderResult> {
    const { store, log } = this.d;
    if (order.expires <= this.d.clock()) return { ok: false, message: 'the challenge had expired before the server saw it' };
    for (const hash of order.hashes) store.append({ t: 'scep', step: 'challenge', challenge: { hash, subject: order.subject, expires: order.expires, by: order.by }, at: this.d.clock() });
    await store.commit();
    const until = new Date(order.expires).toISOString();
    const count = order.hashes.length;
    log.info({ event: 'scep.challenge', subject: order.subject, count, expires: until, by: order.by }, `${count} SCEP challenge(s) for ${order.subject} recorded, valid until ${until}`);
    return { ok: true, message: `${count === 1 ? 'challenge' : `${count} challenges`} for ${order.subject} valid until ${until}` };
  }

  private async raCertificate(order: Extract<ScepOrder, { kind: 'ra-cert' }>): Promise<ScepOrderResult> {
    let subject;
    try {
      subject = parseSlashDn(order.subject);
    } catch (e) {
      return { ok: false, message: (e as EtokenError).message };
    }
    const issued = await issueScepCertificate(this.d, { req: order.id, subject, spki: Buffer.from(order.spki, 'base64'), names: { dnsNames: [], ipAddresses: [] } });
    if (issued.kind !== 'issued') return { ok: false, message: `no RA certificate: ${issued.reason}` };
    await this.d.store.commit();
    this.d.store.recordIssued(issued.entry, issued.der);
    this.d.log.info({ event: 'cert.issued', req: order.id, serial: issued.serial, subject: onelineDn(subject), front: 'scep-ra', by: order.by }, 'certificate issued');
    this.d.log.info({ event: 'scep.ra-cert', serial: issued.serial, subject: onelineDn(subject), by: order.by }, `RA certificate ${issued.serial} issued`);
    return { ok: true, message: `RA certificate ${issued.serial} issued`, certificate: derToPem(issued.der) };
  }
}
