import { describe, expect, it } from 'vitest';
import { formatQueueEntry, parseDoneEntry, parseRevocationRequest, queueIdOf, type RevocationRequest } from './revocation-queue.js';

const request: RevocationRequest = { id: 'a'.repeat(32), serial: '0A1B', reason: 'keyCompromise', requestedAt: 1_700_000_000_000, by: 'alice', uid: 1000 };

describe('revocation queue entries', () => {
  it('round-trips requests and done entries', () => {
    expect(parseRevocationRequest(formatQueueEntry(request))).toEqual(request);
    const done = { ...request, crlNumber: 7, doneAt: 1_700_000_001_000 };
    expect(parseDoneEntry(formatQueueEntry(done))).toEqual(done);
    expect(parseDoneEntry(formatQueueEntry({ ...done, crlNumber: null, refused: 'unknown serial' }))).toMatchObject({ crlNumber: null, refused: 'unknown serial' });
    expect(parseDoneEntry(formatQueueEntry(request))).toBeNull();
    const compromised = { ...request, compromisedAt: request.requestedAt - 86_400_000 };
    expect(parseRevocationRequest(formatQueueEntry(compromised))).toEqual(compromised);
  });

  it('refuses anything not exactly well-formed', () => {
    const bad = (change: object): RevocationRequest | null => parseRevocationRequest(JSON.stringify({ ...request, ...change }));
    expect(bad({ serial: '0a1b' })).toBeNull();
    expect(bad({ serial: '000A1B' })).toBeNull();
    expect(bad({ reason: 'keycompromise' })).toBeNull();
    expect(bad({ reason: 'removeFromCRL' })).toBeNull();
    expect(bad({ id: '../x' })).toBeNull();
    expect(bad({ by: 'a\nb' })).toBeNull();
    expect(bad({ requestedAt: -1 })).toBeNull();
    // A compromise time: whole seconds, not after the request, with keyCompromise or CACompromise only.
    expect(bad({ compromisedAt: request.requestedAt + 1000 })).toBeNull();
    expect(bad({ compromisedAt: request.requestedAt - 1 })).toBeNull();
    expect(bad({ compromisedAt: '2026-01-01' })).toBeNull();
    expect(bad({ reason: 'superseded', compromisedAt: request.requestedAt })).toBeNull();
    expect(bad({ reason: 'CACompromise', compromisedAt: request.requestedAt })).not.toBeNull();
    expect(parseRevocationRequest('{')).toBeNull();
  });

  it('names pending entries and nothing else', () => {
    expect(queueIdOf(`${'b'.repeat(32)}.json`)).toBe('b'.repeat(32));
    expect(queueIdOf(`.${'b'.repeat(32)}.tmp`)).toBeNull();
    expect(queueIdOf('done')).toBeNull();
  });
});
