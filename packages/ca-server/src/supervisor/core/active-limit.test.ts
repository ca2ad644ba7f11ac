import { describe, expect, it } from 'vitest';
import { decideActiveLimit } from './active-limit.js';

describe('decideActiveLimit', () => {
  it('allows anything without a limit', () => {
    expect(decideActiveLimit({ max: 0, revokeOnReplace: false, active: ['A', 'B'], inFlight: 5 })).toEqual({ kind: 'allow', supersede: [] });
  });

  it('allows below the limit and refuses at it without REVOKE_ON_REPLACE', () => {
    expect(decideActiveLimit({ max: 2, revokeOnReplace: false, active: ['A'], inFlight: 0 })).toEqual({ kind: 'allow', supersede: [] });
    expect(decideActiveLimit({ max: 2, revokeOnReplace: false, active: ['A', 'B'], inFlight: 0 })).toMatchObject({ kind: 'refuse', exit: 65 });
    expect(decideActiveLimit({ max: 2, revokeOnReplace: false, active: ['A'], inFlight: 1 })).toMatchObject({ kind: 'refuse' });
  });

  it('supersedes the oldest certificates with REVOKE_ON_REPLACE', () => {
    expect(decideActiveLimit({ max: 1, revokeOnReplace: true, active: ['OLD'], inFlight: 0 })).toEqual({ kind: 'allow', supersede: ['OLD'] });
    expect(decideActiveLimit({ max: 2, revokeOnReplace: true, active: ['A', 'B', 'C'], inFlight: 0 })).toEqual({ kind: 'allow', supersede: ['A', 'B'] });
  });

  it('never supersedes a certificate still being signed', () => {
    expect(decideActiveLimit({ max: 1, revokeOnReplace: true, active: [], inFlight: 1 })).toMatchObject({ kind: 'refuse', exit: 75 });
    expect(decideActiveLimit({ max: 2, revokeOnReplace: true, active: ['A'], inFlight: 1 })).toEqual({ kind: 'allow', supersede: ['A'] });
  });
});
