/**
 * Failing writes during issuance (test/helpers/journal-faults.ts): every
 * write, flush and rename of CA_DIR that an issuance and the automatic
 * checkpoint after it make fails in turn, and a torn journal record whose
 * cut-off fails too; the server goes on by itself, loses no certificate a
 * client printed, and after a restart lists and revokes every one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultHarness } from '../helpers/journal-faults.js';

const harness = new FaultHarness();

beforeAll(() => harness.start('issuance'));
afterAll(() => harness.stop());

describe.sequential('every write, flush and rename of CA_DIR failing in turn during issuance', () => {
  it('issuance and its checkpoint', async () => {
    const counted = await harness.count(() => harness.issuance('counting'));
    expect(counted.write).toBeGreaterThan(4);
    expect(counted.sync).toBeGreaterThan(2);
    await harness.sweep('issuance', counted, (label) => harness.issuance(label));
  }, 600_000);

  it('a torn journal record that cannot even be cut off', async () => {
    const journal = `${harness.fixture.caDir}/journal/*`;
    harness.arm(`op=write path=${journal} nth=1 errno=EIO\nop=ftruncate path=${journal} nth=1 errno=EIO\n`);
    await sleep(50);
    await harness.issuance('journal write and ftruncate failing');
    await harness.expectRecovered('journal write and ftruncate failing');
    expect(harness.server.events('db.recovered').length).toBeGreaterThan(0);
  }, 120_000);

  it('after a restart, lists and revokes every certificate a client printed', () => harness.expectAllAfterRestart(), 300_000);
});
