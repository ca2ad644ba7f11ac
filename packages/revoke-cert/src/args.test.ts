import { describe, expect, it } from 'vitest';
import { parseArgs } from './args.js';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const usageError = (argv: string[]): string => {
  try {
    parseArgs(argv, NOW);
  } catch (e) {
    expect((e as { exitCode: number }).exitCode).toBe(64);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('revoke-cert --compromise-time', () => {
  it('takes openssl ca\'s spelling and ISO 8601 to the second, with Z or an offset', () => {
    const at = Date.UTC(2026, 10, 20, 8, 30, 15);
    expect(parseArgs(['0A', '--reason', 'keyCompromise', '--compromise-time', '20261120083015Z'], NOW).compromisedAt).toBe(at);
    expect(parseArgs(['0A', '--reason', 'CACompromise', '--compromise-time', '2026-11-20T08:30:15Z'], NOW).compromisedAt).toBe(at);
    expect(parseArgs(['0A', '--reason', 'keyCompromise', '--compromise-time', '2026-11-20T09:30:15+01:00'], NOW).compromisedAt).toBe(at);
    expect(parseArgs(['0A', '--reason', 'keyCompromise'], NOW)).not.toHaveProperty('compromisedAt');
  });

  it('refuses it with any other reason, in the future, or in another form', () => {
    expect(usageError(['0A', '--compromise-time', '20261120083015Z'])).toMatch(/goes with --reason keyCompromise or CACompromise only/);
    expect(usageError(['0A', '--reason', 'superseded', '--compromise-time', '20261120083015Z'])).toMatch(/keyCompromise or CACompromise/);
    expect(usageError(['0A', '--reason', 'keyCompromise', '--compromise-time', '2026-12-07T12:00:01Z'])).toMatch(/in the future/);
    for (const bad of ['2026-11-20', '2026-11-20T08:30:15.5Z', '2026-11-20 08:30:15', '20261320083015Z', 'yesterday', '19491231235959Z']) {
      expect(usageError(['0A', '--reason', 'keyCompromise', '--compromise-time', bad])).toMatch(/is not a time such as/);
    }
  });
});
