import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureQueueDir, moveToDone, queueLayout, writeQueueEntry, type QueueLayout } from '@etoken-ca/contract/io/revocation-queue-dir';
import type { RevocationRequest } from '@etoken-ca/contract/core/revocation-queue';
import { waitForDone } from './wait-for-crl.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function queue(): QueueLayout {
  const dir = mkdtempSync(join(tmpdir(), 'revoke-wait-'));
  dirs.push(dir);
  const layout = queueLayout(join(dir, 'queue'));
  ensureQueueDir(layout);
  return layout;
}

const request = (id: string): RevocationRequest => ({ id, serial: '0A', reason: 'superseded', requestedAt: 1, by: 'root', uid: 0 });

describe('waitForDone', () => {
  it('returns every done entry, in the order asked, once the last is written', async () => {
    const layout = queue();
    const ids = ['a'.repeat(32), 'b'.repeat(32)];
    for (const id of ids) writeQueueEntry(layout, request(id));
    const waiting = waitForDone(layout, ids, 60_000);
    moveToDone(layout, { ...request(ids[1]!), crlNumber: 7, doneAt: 2 });
    setTimeout(() => moveToDone(layout, { ...request(ids[0]!), crlNumber: null, refused: 'unknown serial', doneAt: 3 }), 50);
    expect((await waiting)?.map((d) => [d.id, d.crlNumber])).toEqual([
      [ids[0], null],
      [ids[1], 7],
    ]);
  });

  it('gives null when the time runs out first', async () => {
    const layout = queue();
    const id = 'c'.repeat(32);
    writeQueueEntry(layout, request(id));
    expect(await waitForDone(layout, [id], 200)).toBeNull();
  });
});
