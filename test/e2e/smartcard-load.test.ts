/**
 * Load on a token that behaves like a USB eToken (the smart-card test module,
 * 250 ms per signature, one at a time): bursts of logons larger than the token
 * can sign within CLIENT_TIMEOUT, through a real myproxy-server and as bare
 * etoken-ca-client processes, and a token pulled out in the middle of a
 * stream of signatures. The token's time goes to clients still waiting: no
 * signer is killed, nothing is withheld, what fits in the timeout is
 * delivered and the rest is refused at once as busy; no certificate is
 * signed for a client that has gone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../corpus/requests.js';
import { CLIENT_BIN, type AuditRecord } from '../helpers/ca-server.js';
import { typePinAtPrompt } from '../helpers/console-server.js';
import { startMyProxy, type MyProxyServer } from '../helpers/myproxy.js';
import { indexLines, serialOf, startSmartcardCa, type SmartcardCa } from '../helpers/smartcard-ca.js';
import { clientBurst } from '../helpers/client-burst.js';
import { CpuGroup } from '../helpers/cpu-group.js';
import { startClient, type ClientResult } from '../helpers/spool-client.js';

const LATENCY_MS = 250;
const BUSY = /^etoken-ca: CA busy, \d+ requests queued; try again later$/;

function csrDer(): Buffer {
  return execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=NULL SUBJECT NAME ENTRY', '-outform', 'DER'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function csrPem(): string {
  return execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=NULL SUBJECT NAME ENTRY'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Whether the token is in the middle of an operation right now (flock(1) cannot take its lock). */
const tokenBusy = (ca: SmartcardCa): boolean => spawnSync('flock', ['-n', '-E', '99', join(ca.card.dir, 'token.lock'), 'true']).status === 99;

/** Certificates the token signed so far (CRLs too), by the module's own log. */
const goodSignatures = (ca: SmartcardCa): number => ca.card.signatures().filter((s) => s.rv === 0).length;

/** Events of one kind after the `from`-th log record. */
const eventsSince = (ca: SmartcardCa, from: number, name: string): AuditRecord[] => ca.server.logs.slice(from).filter((r) => r.event === name);

/** For each request refused in a way that `matches`, ms from the server reading it to the refusal. */
function answerTimes(ca: SmartcardCa, from: number, matches: (record: AuditRecord) => boolean): number[] {
  const received = new Map(eventsSince(ca, from, 'request.received').map((r) => [r.req, Date.parse(String(r.time))]));
  return eventsSince(ca, from, 'cert.refused')
    .filter(matches)
    .map((r) => Date.parse(String(r.time)) - (received.get(r.req) ?? Number.NaN));
}

/** "median X ms, at most Y ms" */
function msText(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)] ?? 0} ms, at most ${sorted.at(-1) ?? 0} ms`;
}

interface Timed<T> {
  readonly result: T;
  readonly ms: number;
}

async function timed<T>(run: () => Promise<T>): Promise<Timed<T>> {
  const started = Date.now();
  const result = await run();
  return { result, ms: Date.now() - started };
}

describe('a burst of 100 MyProxy logons at once against a 250 ms token, CLIENT_TIMEOUT 15 s', () => {
  let ca: SmartcardCa;
  let myproxy: MyProxyServer;
  let group: CpuGroup | null;

  beforeAll(async () => {
    ca = await startSmartcardCa('burst100', { latencyMs: LATENCY_MS, keys: { CLIENT_TIMEOUT: '15' } });
    await ca.server.waitFor('crl.issued');
    // myproxy-server and its callouts apart from the CA, as under systemd; the logon clients with them, as they would be elsewhere.
    group = CpuGroup.create('etoken-burst-myproxy');
    myproxy = await startMyProxy({ calloutPath: CLIENT_BIN, env: { ETOKEN_CA_CONFIG: ca.fixture.configPath }, maxCertLifetime: 12, cpuGroup: group });
  });

  afterAll(async () => {
    await myproxy?.stop();
    group?.remove();
    await ca?.stop();
  });

  it('kills no signer and withholds nothing: what fits in the timeout is delivered, the rest refused at once as busy', async () => {
    const from = ca.server.logs.length;
    const signedBefore = goodSignatures(ca);
    const csr = csrPem();
    const started = Date.now();
    const logons = await Promise.all(
      Array.from({ length: 100 }, (_, n) => timed(() => myproxy.logon({ username: `/O=Example/CN=Burst ${n}`, hours: 1, csrPem: csr, timeoutMs: 60_000 }))),
    );
    const wallMs = Date.now() - started;
    const delivered = logons.filter((l) => l.result.code === 0 && l.result.certPem);
    const failed = logons.filter((l) => l.result.code !== 0);
    const busy = eventsSince(ca, from, 'cert.refused').filter((r) => /^CA busy/.test(String(r.reason)));
    const busyMs = answerTimes(ca, from, (r) => /^CA busy/.test(String(r.reason)));
    const issued = eventsSince(ca, from, 'cert.issued');
    const signed = goodSignatures(ca) - signedBefore;
    console.log(
      `burst of 100 MyProxy logons, ${LATENCY_MS} ms token, CLIENT_TIMEOUT 15 s: ${delivered.length} certificates delivered, ${failed.length} refused ` +
        `(${busy.length} as busy, ${msText(busyMs)} after the server read them; slowest failed logon ${Math.max(0, ...failed.map((l) => l.ms))} ms); ${signed} signatures; ` +
        `withheld ${eventsSince(ca, from, 'cert.withheld').length}; signer exits ${eventsSince(ca, from, 'signer.exited').length}; all done in ${wallMs} ms`,
    );

    expect(eventsSince(ca, from, 'signer.exited')).toEqual([]);
    expect(eventsSince(ca, from, 'cert.withheld')).toEqual([]);
    expect(indexLines(ca).filter((l) => l.startsWith('R'))).toEqual([]);
    // The token signs about four a second; the logons reach the CA over several seconds (TLS and GSI on two cores).
    expect(delivered.length).toBeGreaterThanOrEqual(30);
    // Every other logon was refused as busy, as soon as the server knew it could not be signed in time: long before
    // its client would have given up.
    expect(busy).toHaveLength(failed.length);
    for (const ms of busyMs) expect(ms).toBeLessThan(7500);
    expect(failed.length + delivered.length).toBe(100);
    // Nothing signed for a client that was gone: every signature reached a client.
    expect(issued).toHaveLength(delivered.length);
    expect(signed).toBe(delivered.length);
    for (const l of delivered) expect(indexLines(ca)).toContainEqual(expect.stringContaining(`\t${serialOf(l.result.certPem!)}\t`));
  });
});

describe('a burst of 200 clients at once against a 250 ms token, CLIENT_TIMEOUT 20 s', () => {
  let ca: SmartcardCa;

  beforeAll(async () => {
    ca = await startSmartcardCa('burst200', { latencyMs: LATENCY_MS, keys: { CLIENT_TIMEOUT: '20' } });
    await ca.server.waitFor('crl.issued');
  });

  afterAll(() => ca?.stop());

  it('gives every client a certificate or a fast "busy", and signs nothing for a client that has gone', async () => {
    const from = ca.server.logs.length;
    const signedBefore = goodSignatures(ca);
    const body = request(csrDer(), { username: '/O=Example/CN=Burst Client' });
    const group = CpuGroup.create('etoken-burst-clients');
    const started = Date.now();
    const clients = await clientBurst(body, ca.fixture.configPath, 200, group).finally(() => group?.remove());
    const wallMs = Date.now() - started;
    const issued = clients.filter((c) => c.code === 0);
    const busy = clients.filter((c) => c.code === 75 && BUSY.test(c.stderr.trim()));
    const other = clients.filter((c) => !issued.includes(c) && !busy.includes(c));
    const signed = goodSignatures(ca) - signedBefore;
    const departed = signed - issued.length;
    const busyMs = answerTimes(ca, from, (r) => /^CA busy/.test(String(r.reason)));
    console.log(
      `burst of 200 clients, ${LATENCY_MS} ms token, CLIENT_TIMEOUT 20 s: ${issued.length} certificates, ${busy.length} busy ` +
        `(refused ${msText(busyMs)} after the server read the request), ${other.length} other; ${signed} signatures, ` +
        `${departed} signed for departed clients; all done in ${wallMs} ms`,
    );

    expect(other.map((c) => `${c.code}: ${c.stderr.trim()}`)).toEqual([]);
    expect(issued.length + busy.length).toBe(200);
    expect(departed).toBe(0);
    expect(eventsSince(ca, from, 'cert.issued')).toHaveLength(issued.length);
    expect(eventsSince(ca, from, 'cert.withheld')).toEqual([]);
    expect(eventsSince(ca, from, 'signer.exited')).toEqual([]);
    // The token signed most of the time the clients gave it (they start slowly on two cores, as two hundred at once do).
    expect(issued.length).toBeGreaterThanOrEqual(25);
    // A busy answer comes as soon as the server knows, not when the client is about to give up.
    expect(busyMs).toHaveLength(busy.length);
    for (const ms of busyMs) expect(ms).toBeLessThan(10_000);
  });
});

describe('the token pulled out in the middle of a signature, under load', () => {
  let ca: SmartcardCa;

  beforeAll(async () => {
    // With streams keeping the token busy, the removal is found by the signature it breaks.
    ca = await startSmartcardCa('pulled', { latencyMs: LATENCY_MS, console: true, keys: { CLIENT_TIMEOUT: '40', TOKEN_POLL_INTERVAL: '5' } });
  });

  afterAll(() => ca?.stop());

  it('hands out no certificate signed across the removal, and every request ends cleanly', async () => {
    const body = request(csrDer(), { username: '/O=Example/CN=Stream' });
    const results: ClientResult[] = [];
    let stop = false;
    const stream = async (): Promise<void> => {
      while (!stop) results.push(await startClient(body, ca.fixture.configPath).done);
    };
    const streams = Array.from({ length: 6 }, stream);
    await ca.server.waitFor('cert.issued', 6, 60_000);
    // Pulled while a signature is on the token (the module holds token.lock for each): it fails with
    // CKR_DEVICE_REMOVED at the end of its latency.
    await expect.poll(() => tokenBusy(ca), { timeout: 30_000, interval: 5 }).toBe(true);
    ca.card.removeToken();
    await ca.server.waitFor('token.removed', 1, 30_000);
    ca.card.insertToken();
    await typePinAtPrompt(ca.pty!, ca.token.pin, 2);
    await ca.server.waitFor('pin.accepted', 2, 30_000);
    const resumed = ca.server.events('cert.issued').length;
    await ca.server.waitFor('cert.issued', resumed + 12, 60_000);
    stop = true;
    await Promise.all(streams);

    const removed = ca.card.signatures().filter((s) => s.rv === 0x32);
    const withheld = ca.server.events('cert.withheld').map((r) => String(r.serial));
    const handedOut = results.filter((r) => r.code === 0).map((r) => serialOf(r.stdout));
    const failed = results.filter((r) => r.code !== 0);
    console.log(
      `removal under load: ${results.length} requests, ${handedOut.length} certificates, ${withheld.length} withheld, ${failed.length} failed ` +
        `(${failed.map((r) => r.stderr.trim()).join(' | ')}); ${removed.length} signatures interrupted by the removal`,
    );
    expect(removed.length).toBeGreaterThanOrEqual(1);
    expect(withheld.length).toBeGreaterThanOrEqual(1);
    expect(withheld.length).toBeLessThanOrEqual(2);
    const lines = indexLines(ca);
    for (const serial of withheld) {
      expect(lines.some((l) => l.startsWith('R\t') && l.includes(',cessationOfOperation\t') && l.includes(`\t${serial}\t`))).toBe(true);
    }
    expect(handedOut.filter((serial) => withheld.includes(serial))).toEqual([]);
    for (const serial of handedOut) expect(lines.some((l) => l.startsWith('V\t') && l.includes(`\t${serial}\t`))).toBe(true);
    // The requests that were waiting were served after the re-insertion; only the interrupted ones failed, and say why.
    expect(failed).toHaveLength(withheld.length);
    for (const r of failed) expect(r.stderr).toMatch(/^etoken-ca: certificate withheld: the token was removed or failed during signing; try again\n$/);
  });
});
