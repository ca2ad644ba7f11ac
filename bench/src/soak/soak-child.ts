/**
 * The soak's own process: `node soak.js CA_DIR COUNT RATE` drives the
 * server's store (CaStore, the code the supervisor runs) through COUNT
 * issuances without a restart, with records shaped as the supervisor writes
 * them (reserve, issue with a certificate of 1,200 bytes, answer), flushed
 * in batches of 16 as the group commit shares flushes under load, the index
 * line and newcerts/ file after each answer, and the store's own
 * maintenance running (rotation, automatic checkpoints, outcomes forgotten
 * on time). Time is simulated at RATE certificates a second, ending about
 * now, so that time-based checkpoints and the outcomes' retention see what
 * a server at that rate would. The loop yields to the event loop once per
 * issuance, as the server's main thread does at least once while a worker
 * signs: the checkpoint's flushes and writes go on between those turns, as
 * in the server, instead of waiting behind a loop that never lets them run.
 * At the end it stops the store as the server does on SIGTERM (a last
 * checkpoint). Prints one JSON line: what it did.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaStore } from '../../../packages/ca-server/src/supervisor/store/ca-store.js';
import type { AuditRecord } from '../../../packages/ca-server/src/supervisor/audit-log.js';

const BATCH = 16;
const DER_BYTES = 1200;
const YEAR_MS = 365 * 86400_000;

function peakMb(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function main(): Promise<void> {
  const [caDir, countText, rateText, endText] = process.argv.slice(2);
  if (!caDir) throw new Error('usage: soak.js CA_DIR COUNT RATE END_MS');
  const count = Number(countText);
  const rate = Number(rateText);
  const step = 1000 / rate;
  let now = Number(endText) - count * step;
  const events = new Map<string, number>();
  const log = (record: AuditRecord, message: string): void => {
    events.set(record.event, (events.get(record.event) ?? 0) + 1);
    if (record.event !== 'db.checkpoint' && record.event !== 'db.rotated') process.stderr.write(`${message}\n`);
  };
  const store = await CaStore.open(caDir, { clock: () => now, log: { info: log, warn: log, error: log } });
  store.start();
  const der = randomBytes(DER_BYTES);
  const derBase64 = der.toString('base64');
  const started = performance.now();
  for (let n = 0; n < count; n += BATCH) {
    const batch: { serial: string; req: string }[] = [];
    for (let i = n; i < Math.min(count, n + BATCH); i++) {
      const req = randomBytes(16).toString('hex');
      const serial = store.db.unusedSerial();
      store.append({ t: 'reserve', req, serial, subject: `/DC=org/DC=example/O=Bench/CN=Soak User ${i % 5000}`, notAfter: now + YEAR_MS, at: now });
      store.append({ t: 'issue', req, serial, der: derBase64, at: now });
      batch.push({ serial, req });
      now += step;
      await new Promise(setImmediate);
    }
    await store.commit();
    for (const { serial, req } of batch) {
      store.recordIssued(store.db.get(serial)!, der);
      store.note({ t: 'answer', req, at: now });
    }
  }
  await store.commit();
  const issuedMs = performance.now() - started;
  const outcomes = store.db.outcomeCount;
  await store.stop();
  process.stdout.write(
    `${JSON.stringify({
      issued: count,
      issuedMs,
      perSecond: (count * 1000) / issuedMs,
      simulatedEnd: now,
      peakMb: peakMb(),
      outcomesHeld: outcomes,
      checkpoints: events.get('db.checkpoint') ?? 0,
      checkpointsFailed: events.get('db.checkpoint-failed') ?? 0,
      rotations: events.get('db.rotated') ?? 0,
      segments: readdirSync(join(caDir, 'journal')).length,
    })}\n`,
  );
}

await main();
