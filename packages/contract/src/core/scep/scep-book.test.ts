import { describe, expect, it } from 'vitest';
import { ScepBook } from './scep-book.js';
import type { ScepWorkflow } from './scep-records.js';

const HOUR = 3_600_000;
const workflow = (txid: string, expires: number): ScepWorkflow => ({
  txid,
  req: 'a'.repeat(32),
  kind: 'enroll',
  request: 'b'.repeat(64),
  subject: [{ type: 'CN', value: 'host1.example.org' }],
  spki: 'MII=',
  dnsNames: [],
  ipAddresses: [],
  auth: 'none',
  eligible: null,
  approvals: [],
  created: 0,
  expires,
  state: 'pending',
});

describe('ScepBook', () => {
  it('follows a workflow through approvals, eligibility and its end', () => {
    const book = new ScepBook();
    book.apply({ t: 'scep', step: 'workflow', workflow: workflow('tx1', 10 * HOUR), at: 1 });
    book.apply({ t: 'scep', step: 'eligibility', txid: 'tx1', eligible: true, why: 'exit 0', at: 2 });
    book.apply({ t: 'scep', step: 'approve', txid: 'tx1', by: 'alice', at: 3 });
    expect(book.pending().map((w) => w.txid)).toEqual(['tx1']);
    expect(book.workflow('tx1')).toMatchObject({ eligible: true, approvals: [{ by: 'alice', at: 3 }] });
    book.apply({ t: 'scep', step: 'finish', txid: 'tx1', serial: 'C0FFEE', reason: 'issued', at: 4 });
    expect(book.workflow('tx1')).toMatchObject({ state: 'issued', serial: 'C0FFEE', finished: 4 });
    book.apply({ t: 'scep', step: 'workflow', workflow: workflow('tx2', 10 * HOUR), at: 5 });
    book.apply({ t: 'scep', step: 'finish', txid: 'tx2', failInfo: 'badCertId', reason: 'no', at: 6 });
    expect(book.workflow('tx2')).toMatchObject({ state: 'failed', failInfo: 'badCertId', reason: 'no' });
    expect(book.pending()).toEqual([]);
  });

  it('takes an issued workflow back to pending, whole, with the record that says so', () => {
    const book = new ScepBook();
    const started = { ...workflow('tx1', 10 * HOUR), approvals: [{ by: 'alice', at: 3 }] };
    book.apply({ t: 'scep', step: 'workflow', workflow: started, at: 1 });
    expect(book.reopened('tx1', 5)).toBeNull();
    book.apply({ t: 'scep', step: 'finish', txid: 'tx1', serial: 'C0FFEE', reason: 'issued', at: 4 });
    const record = book.reopened('tx1', 5);
    expect(record).toEqual({ t: 'scep', step: 'workflow', workflow: started, at: 5 });
    book.apply(record!);
    expect(book.pending()).toEqual([started]);
    expect(book.reopened('unknown', 5)).toBeNull();
  });

  it('uses a challenge once, and never after its expiry', () => {
    const book = new ScepBook();
    book.apply({ t: 'scep', step: 'challenge', challenge: { hash: 'h1', subject: '/CN=*', expires: HOUR, by: 'root' }, at: 0 });
    expect(book.challenge('h1', HOUR - 1)?.subject).toBe('/CN=*');
    expect(book.challenge('h1', HOUR)).toBeUndefined();
    book.apply({ t: 'scep', step: 'challenge-used', hash: 'h1', txid: 'tx', at: 1 });
    expect(book.challenge('h1', 0)).toBeUndefined();
  });

  it('carries live workflows and challenges over a checkpoint, and drops what has expired', () => {
    const book = new ScepBook();
    book.apply({ t: 'scep', step: 'workflow', workflow: workflow('live', 10 * HOUR), at: 0 });
    book.apply({ t: 'scep', step: 'workflow', workflow: workflow('old', HOUR), at: 0 });
    book.apply({ t: 'scep', step: 'finish', txid: 'old', failInfo: 'badRequest', reason: 'x', at: 1 });
    book.apply({ t: 'scep', step: 'workflow', workflow: workflow('stale-pending', HOUR), at: 0 });
    book.apply({ t: 'scep', step: 'challenge', challenge: { hash: 'h', subject: '/CN=*', expires: 10 * HOUR, by: 'root' }, at: 0 });
    book.apply({ t: 'scep', step: 'challenge', challenge: { hash: 'gone', subject: '/CN=*', expires: HOUR, by: 'root' }, at: 0 });
    const carried = book.carryOver(2 * HOUR);
    const replayed = new ScepBook();
    for (const record of carried) replayed.apply(record);
    // A pending workflow past its expiry is kept until the server fails it with a record of its own.
    expect(replayed.all().map((w) => w.txid).sort()).toEqual(['live', 'stale-pending']);
    expect(replayed.openChallenges(2 * HOUR).map((c) => c.hash)).toEqual(['h']);
    expect(book.workflow('old')).toBeUndefined();
  });
});
