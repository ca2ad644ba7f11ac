/**
 * The SCEP operator queue on disk: the revocation queue's directory code
 * (root only, durable writes, done/) with SCEP orders in it.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { queueEntryName, queueTempName } from '../core/revocation-queue.js';
import { formatScepOrder, parseScepOrder, parseScepOrderDone, type ScepOrder, type ScepOrderDone } from '../core/scep/scep-orders.js';
import { fsyncDirectory } from './atomic-file.js';
import { writeDurably, type QueueLayout } from './revocation-queue-dir.js';

export function writeScepOrder(layout: QueueLayout, order: ScepOrder): void {
  writeDurably(layout.dir, queueTempName(order.id), queueEntryName(order.id), formatScepOrder(order));
  fsyncDirectory(layout.dir);
}

/** A pending order, or null when it is not there or not an order (the server logs and drops such files). */
export function readScepOrder(layout: QueueLayout, id: string): ScepOrder | null {
  try {
    return parseScepOrder(readFileSync(join(layout.dir, queueEntryName(id)), 'utf8'));
  } catch {
    return null;
  }
}

export function moveScepOrderToDone(layout: QueueLayout, done: ScepOrderDone): void {
  writeDurably(layout.done, queueTempName(done.id), queueEntryName(done.id), formatScepOrder(done));
  fsyncDirectory(layout.done);
  unlinkSync(join(layout.dir, queueEntryName(done.id)));
}

/** The result of an order, or null while it is still pending. */
export function readScepOrderDone(layout: QueueLayout, id: string): ScepOrderDone | null {
  try {
    return parseScepOrderDone(readFileSync(join(layout.done, queueEntryName(id)), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
