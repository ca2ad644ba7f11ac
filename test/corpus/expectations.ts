/**
 * What each corpus entry must come to, checked the same way whether the
 * parser ran in-process (unit tests) or as its own process (integration).
 */
import { expect } from 'vitest';
import type { Config } from '@etoken-ca/contract/core/config';
import type { ParsedRequest } from '@etoken-ca/protocol/parser-messages';
import { computeValidity } from '../../packages/ca-server/src/supervisor/core/validity.js';
import type { CorpusEntry } from './corpus.js';

export type Outcome = ParsedRequest | { readonly refused: string };

export function expectOutcome(entry: CorpusEntry, outcome: Outcome, config: Config): void {
  if (entry.expect === 'refused') {
    expect(outcome).toHaveProperty('refused');
    const reason = (outcome as { refused: string }).refused;
    expect(reason).toMatch(entry.reason);
    expect(reason).not.toMatch(/[\r\n\u2028\u2029]/);
    return;
  }
  expect(outcome).not.toHaveProperty('refused');
  const fields = outcome as ParsedRequest;
  if (entry.expect === 'valid') {
    expect(fields).toMatchObject(entry.fields);
    return;
  }
  const now = new Date('2030-01-01T00:00:00Z');
  const { proxyLifetime, maxCertLifetime } = fields;
  const validity = computeValidity({ now, proxyLifetime, maxCertLifetime, config, caNotAfter: new Date('2040-01-01T00:00:00Z') });
  expect(proxyLifetime).toBe(entry.proxyLifetime);
  expect(validity.notAfter - now.getTime()).toBeLessThan(entry.proxyLifetime * 1000);
}
