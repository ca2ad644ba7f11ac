/**
 * SCEP and MyProxy sharing a slow token (the smart-card test module, 250 ms
 * per signature, one at a time). A burst of SCEP enrollments is written into
 * the SCEP spool (as the front end would, through the scep account), then a
 * few MyProxy logons come while most of it is still to be signed. Both take
 * their turns in the server's one signing queue, so the logons are signed
 * within a few signatures, well before their clients give up, instead of
 * after the whole burst; and no MyProxy certificate is signed for a client
 * that is no longer there to take it.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raCredentials } from '@etoken-ca/scep-server/core/index';
import { csrOf, pkiMessage, selfSignedIdentity } from '../../packages/scep-server/src/testing/pki-messages.js';
import { request } from '../corpus/requests.js';
import { RA_SUBJECT, freePort, scepCommand, scepKeys } from '../helpers/scep-ca.js';
import { forgedSpoolEntry, forgeEntries } from '../helpers/scep-forger.js';
import { startSmartcardCa, type SmartcardCa } from '../helpers/smartcard-ca.js';
import { startClient, type ClientResult } from '../helpers/spool-client.js';

const BURST = 40;
const LOGONS = 3;
/** Far less than the burst's token time (10 s), far more than a few signatures. */
const CLIENT_TIMEOUT_S = 6;
const HOSTS = '/DC=org/DC=example/OU=hosts/CN=*';

const csr = execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=NULL SUBJECT NAME ENTRY', '-outform', 'DER'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
const logon = (ca: SmartcardCa, cn: string): Promise<ClientResult> => startClient(request(csr, { username: `/O=Example/CN=${cn}` }), ca.fixture.configPath).done;

let dir: string;
let ca: SmartcardCa;
let burst: Buffer[];

beforeAll(async () => {
  dir = mkdtempSync('/tmp/etoken-scep-fairness-');
  chmodSync(dir, 0o755);
  ca = await startSmartcardCa('scep-fairness', { keys: { ...scepKeys(dir, await freePort()), CLIENT_TIMEOUT: String(CLIENT_TIMEOUT_S) } });
  await ca.server.waitFor('crl.issued');
  const command = (args: readonly string[]): string => {
    const run = scepCommand(ca.fixture.configPath, args);
    if (run.code !== 0) throw new Error(`scep ${args[0]} failed (${run.code}): ${run.stderr}`);
    return run.stdout;
  };
  command(['issue-ra-cert', '--subject', RA_SUBJECT]);
  const ra = raCredentials(new X509Certificate(readFileSync(join(dir, 'scep', 'ra.pem'))).raw, createPrivateKey(readFileSync(join(dir, 'scep', 'ra.key'))));
  const challenges = command(['challenge', '--subject', HOSTS, '--count', String(BURST)]).trim().split('\n');
  burst = challenges.map((challenge, i) => {
    const subject = `/DC=org/DC=example/OU=hosts/CN=burst-${i}.example.org`;
    const identity = selfSignedIdentity(subject);
    const message = pkiMessage(identity, csrOf(identity, subject, { challenge }), { messageType: '19', transactionId: randomBytes(16).toString('hex'), recipient: ra.certificateDer });
    return forgedSpoolEntry(message, ra);
  });
});

afterAll(async () => {
  await ca?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a SCEP burst and MyProxy logons on a 250 ms token', () => {
  it('signs the logons between the enrollments, each before its client gives up, and nothing for a client that left', async () => {
    // One logon first: the token's time is measured.
    const first = await logon(ca, 'Warm Up');
    expect(first.code, first.stderr).toBe(0);
    const enrolled = forgeEntries(join(dir, 'scep-spool'), burst, 180_000);
    // The burst under way, most of it still to be signed.
    await ca.server.waitFor('scep.issued', 3, 120_000);
    const results = await Promise.all(Array.from({ length: LOGONS }, (_, i) => logon(ca, `Logon ${i}`)));
    const answers = await enrolled;
    expect(answers.map((a) => a?.status)).toEqual(Array(BURST).fill('SUCCESS'));
    expect(results.map((r) => r.code), results.map((r) => r.stderr).join('\n')).toEqual(Array(LOGONS).fill(0));

    const log = ca.server.logs;
    // Every MyProxy certificate went to a client that took it: none was signed after its client gave up.
    expect(log.filter((r) => r.event === 'cert.issued' && r.front === undefined)).toHaveLength(1 + LOGONS);
    // For each logon, in the server's log order: the enrollments signed between its request and its certificate.
    const at = (event: string, req: unknown): number => log.findIndex((r) => r.event === event && r.req === req);
    const logons = log.filter((r) => r.event === 'request.received').slice(1);
    const scepIssued = (from: number, to?: number): number => log.slice(from, to).filter((r) => r.event === 'cert.issued' && r.front === 'scep').length;
    const waitedFor = logons.map((r) => scepIssued(at('request.received', r.req), at('cert.issued', r.req)));
    const last = Math.max(...logons.map((r) => at('cert.issued', r.req)));
    console.log(`SCEP burst of ${BURST}: each logon waited for ${waitedFor.join(', ')} enrollments; ${scepIssued(last)} were signed after the last logon`);
    // The few already with the signer, those that came while the logon was read, then one per turn: far from the burst.
    for (const count of waitedFor) expect(count).toBeLessThanOrEqual(BURST / 3);
    expect(scepIssued(last)).toBeGreaterThan(BURST / 3);
  });
});
