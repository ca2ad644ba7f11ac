/**
 * Failing writes during revocation (test/helpers/journal-faults.ts): every
 * write, flush and rename of CA_DIR that a revocation makes (journal
 * records, CRL number, CRL files and link, the checkpoint that rewrites
 * index.txt) fails in turn; the revocation still ends up in a CRL, no CRL
 * number is used twice, no certificate is lost, and after a restart every
 * one is listed and revoked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultHarness } from '../helpers/journal-faults.js';

const harness = new FaultHarness();

beforeAll(() => harness.start('revocation'));
afterAll(() => harness.stop());

describe.sequential('every write, flush and rename of CA_DIR failing in turn during a revocation', () => {
  it('revocation, CRL and the checkpoint that rewrites index.txt', async () => {
    const counted = await harness.count(() => harness.revocation('counting'));
    expect(counted.rename).toBeGreaterThan(2);
    // One certificate to revoke per fault, and a few to spare.
    const faults = 2 * counted.write + counted.sync + counted.rename;
    for (let i = 0; i < faults + 3; i++) await harness.oneClient(`Pool ${i}`);
    await harness.sweep('revocation', counted, (label) => harness.revocation(label));
  }, 600_000);

  it('after a restart, lists and revokes every certificate a client printed', () => harness.expectAllAfterRestart(), 300_000);
});
