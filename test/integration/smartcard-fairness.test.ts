/**
 * Two front ends' accounts sharing a slow token (the smart-card test module,
 * 250 ms per signature, one at a time): one floods the spool, the other
 * sends a few requests after the flood. The token serves the accounts in
 * turn, each in its own arrival order, so the second account's requests are
 * signed within a few signatures of their arrival, not after the whole flood.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../corpus/requests.js';
import { startSmartcardCa, type SmartcardCa } from '../helpers/smartcard-ca.js';
import { startClient, type ClientResult } from '../helpers/spool-client.js';
import { systemUser } from '../helpers/users.js';

const FLOOD = 30;
const LATE = 2;

const csr = execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=NULL SUBJECT NAME ENTRY', '-outform', 'DER'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
const logon = (ca: SmartcardCa, cn: string, account: 'myproxy' | 'myproxy2'): Promise<ClientResult> =>
  startClient(request(csr, { username: `/O=Example/CN=${cn}` }), ca.fixture.configPath, account).done;

let ca: SmartcardCa;

beforeAll(async () => {
  // CLIENT_TIMEOUT long enough for the whole flood: nothing is refused as busy, only the order is looked at.
  ca = await startSmartcardCa('fairness', { keys: { CLIENT_TIMEOUT: '100' } });
  await ca.server.waitFor('crl.issued');
});

afterAll(() => ca?.stop());

describe('two accounts on a 250 ms token', () => {
  it('serves requests from a second account between those of one that floods the spool', async () => {
    // One request first: the token's time is measured, and the signer is given a few requests at a time, not a burst.
    const first = await logon(ca, 'Warm Up', 'myproxy');
    expect(first.code, first.stderr).toBe(0);
    const received = ca.server.events('request.received').length;
    const flood = Array.from({ length: FLOOD }, (_, i) => logon(ca, `Flood ${i}`, 'myproxy'));
    await ca.server.waitFor('request.received', received + FLOOD, 120_000);
    const late = Array.from({ length: LATE }, (_, i) => logon(ca, `Other Account ${i}`, 'myproxy2'));
    const results = await Promise.all([...flood, ...late]);
    expect(results.map((r) => r.code)).toEqual(Array(FLOOD + LATE).fill(0));

    // In the server's log order: the flood's certificates issued between the second account's first request received and its last certificate.
    const otherUid = systemUser('myproxy2').uid;
    const log = ca.server.logs;
    const others = new Set(log.filter((r) => r.event === 'request.received' && r.uid === otherUid).map((r) => String(r.req)));
    expect(others.size).toBe(LATE);
    const from = log.findIndex((r) => r.event === 'request.received' && others.has(String(r.req)));
    const to = log.map((r) => r.event === 'cert.issued' && others.has(String(r.req))).lastIndexOf(true);
    const floodBetween = log.slice(from, to).filter((r) => r.event === 'cert.issued' && !others.has(String(r.req))).length;
    const floodBefore = log.slice(0, from).filter((r) => r.event === 'cert.issued').length - 1;
    console.log(`fairness: of ${FLOOD} flooding requests, ${floodBefore} were issued before the second account's ${LATE} came in, ${floodBetween} between their arrival and their certificates`);
    // The few already with the signer, then one flood request per turn of the other account: far from the whole flood.
    expect(floodBetween).toBeLessThanOrEqual(FLOOD / 3);
    expect(FLOOD - floodBefore - floodBetween).toBeGreaterThan(FLOOD / 3);
  });
});
