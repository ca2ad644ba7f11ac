/**
 * SCEP issuance (scep-issuance.ts) with fakes at its ports: the token is
 * scripted, the signed-answer checks pass; the CA store and the signing queue
 * are real. Every SCEP signature takes its turn in the queue MyProxy's take
 * theirs in, in a line of its own, and gives it back however it ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import type { SignCertRequest } from '@etoken-ca/protocol/signer-messages';
import type { CaCertificate } from '@etoken-ca/x509/ca-certificate';
import type { AuditLog } from '../audit-log.js';
import { SignQueue, type Turn } from '../sign-queue.js';
import { CaStore } from '../store/ca-store.js';
import type { SignOutcome } from '../token-manager.js';
import { issueScepCertificate, SCEP_ACCOUNT, type IssuanceDeps, type IssueRequest } from './scep-issuance.js';

const config = parseConfig('DN_FORMAT=/DC=org%s\n', 'unit.conf');
const ca = { notAfter: Date.now() + 30 * 86_400_000 } as CaCertificate;
const log: AuditLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
const DER = Buffer.from('a certificate, as far as this test is concerned');
const MYPROXY_ACCOUNT = 4243;
const FAR = Date.now() + 3_600_000;

let dir: string;
let store: CaStore;
/** What happened, in order: the queue's turns and releases, the journal records, the signatures. */
let events: string[];

/** A token that answers each signature with the next scripted outcome (signed by default). */
class ScriptedToken {
  constructor(private readonly outcomes: Array<SignOutcome | Error> = []) {}
  sign(request: SignCertRequest): Promise<SignOutcome> {
    events.push(`sign ${request.id}`);
    const outcome = this.outcomes.shift() ?? { kind: 'signed', der: DER, stable: true, tokenMs: 250 };
    return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
  }
  distrustSigner(): void {}
}

/** The real queue, its turns and releases written down. */
function recordedQueue(queue = new SignQueue({ now: Date.now, availability: () => 'ready' })): IssuanceDeps['queue'] {
  return {
    turn: async (id, account, deadline, again) => {
      events.push(`turn ${id} account ${account} deadline ${deadline}${again ? ' again' : ''}`);
      const turn = await queue.turn(id, account, deadline, again);
      if (turn.kind !== 'go') return turn;
      return { kind: 'go', release: (signed, tokenMs) => (events.push(`release ${id} ${signed} ${tokenMs}`), turn.release(signed, tokenMs)) };
    },
  };
}

function deps(token: IssuanceDeps['token'], queue: IssuanceDeps['queue']): IssuanceDeps {
  return { config, store, token, queue, ca, checks: { certificate: () => null, crlSignature: () => true }, log, clock: Date.now };
}

const request = (n: number): IssueRequest => ({
  req: `scep${n}`,
  subject: [{ type: 'DC', value: 'org' }, { type: 'CN', value: `host-${n}.example.org` }],
  spki: Buffer.from('a key'),
  names: { dnsNames: [], ipAddresses: [] },
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scep-issuance-'));
  store = await CaStore.open(join(dir, 'ca'));
  events = [];
  // Every journal record goes through append (appendOrDefer too).
  const append = store.append.bind(store);
  store.append = (record) => (events.push(record.t), append(record));
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SCEP issuance through the signing queue', () => {
  it("takes a turn in SCEP's own line, with no deadline, before the reserve record and the signature; releases it after the issue record, with the token's time", async () => {
    const issued = await issueScepCertificate(deps(new ScriptedToken(), recordedQueue()), request(1));
    expect(issued.kind).toBe('issued');
    expect(events).toEqual([`turn scep1 account ${SCEP_ACCOUNT} deadline Infinity`, 'reserve', 'sign scep1', 'issue', 'release scep1 true 250']);
  });

  it('gives back a turn whose signature never reached the token, and takes the next one at the head of the queue', async () => {
    const issued = await issueScepCertificate(deps(new ScriptedToken([{ kind: 'not-sent' }]), recordedQueue()), request(2));
    expect(issued.kind).toBe('issued');
    expect(events).toEqual([
      `turn scep2 account ${SCEP_ACCOUNT} deadline Infinity`,
      'reserve',
      'sign scep2',
      'release',
      'release scep2 false undefined',
      `turn scep2 account ${SCEP_ACCOUNT} deadline Infinity again`,
      'reserve',
      'sign scep2',
      'issue',
      'release scep2 true 250',
    ]);
  });

  it('gives back the turn of a signature that threw, once', async () => {
    const issuing = issueScepCertificate(deps(new ScriptedToken([new Error('the signer pipe broke')]), recordedQueue()), request(3));
    await expect(issuing).rejects.toThrow('the signer pipe broke');
    expect(events).toEqual([`turn scep3 account ${SCEP_ACCOUNT} deadline Infinity`, 'reserve', 'sign scep3', 'release scep3 false undefined']);
  });

  it.each<[Exclude<Turn, { kind: 'go' }>, RegExp]>([
    [{ kind: 'busy', queued: 9 }, /CA busy, 9 requests queued/],
    [{ kind: 'unavailable' }, /failing/],
    [{ kind: 'stopping' }, /stopping/],
  ])('leaves the workflow pending on a %o turn: nothing reserved, nothing signed', async (turn, why) => {
    const token = new ScriptedToken();
    const issued = await issueScepCertificate(deps(token, { turn: () => Promise.resolve(turn) }), request(4));
    expect(issued).toEqual({ kind: 'retry', reason: expect.stringMatching(why) });
    expect(events).toEqual([]);
  });

  it('treats a SCEP request leaving the queue as the internal error it would be', async () => {
    const turn = { kind: 'gone', why: 'departed' } as const;
    await expect(issueScepCertificate(deps(new ScriptedToken(), { turn: () => Promise.resolve(turn) }), request(5))).rejects.toThrow(/only a MyProxy client/);
    expect(events).toEqual([]);
  });

  it('shares the token round-robin with a MyProxy account that has a backlog', async () => {
    const queue = new SignQueue({ now: Date.now, availability: () => 'ready' });
    // One signature measured at half a second: two requests with the signer at a time from then on.
    const warm = await queue.turn('warm', MYPROXY_ACCOUNT, FAR);
    if (warm.kind !== 'go') throw new Error(`no turn: ${warm.kind}`);
    warm.release(true, 500);
    /** The token's work in the order it was given: each entry ends one signature. */
    const atToken: Array<{ who: string; end: () => void }> = [];
    const token = {
      sign: () => new Promise<SignOutcome>((resolve) => atToken.push({ who: 'scep', end: () => resolve({ kind: 'signed', der: DER, stable: true, tokenMs: 500 }) })),
      distrustSigner: () => undefined,
    };
    const myproxy = Array.from({ length: 6 }, (_, i) =>
      queue.turn(`m${i}`, MYPROXY_ACCOUNT, FAR).then((turn) => {
        if (turn.kind === 'go') atToken.push({ who: 'myproxy', end: () => turn.release(true, 500) });
      }),
    );
    const scep = Array.from({ length: 3 }, (_, i) => issueScepCertificate(deps(token, queue), request(10 + i)));
    const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));
    await settle();
    for (let done = 0; done < atToken.length; done++) {
      atToken[done]!.end();
      await settle();
    }
    await Promise.all(myproxy);
    expect((await Promise.all(scep)).map((r) => r.kind)).toEqual(['issued', 'issued', 'issued']);
    // Two already with the signer when SCEP came, then one of each in turn.
    expect(atToken.map((t) => t.who)).toEqual(['myproxy', 'myproxy', 'myproxy', 'scep', 'myproxy', 'scep', 'myproxy', 'scep', 'myproxy']);
  });
});
