/**
 * The hostile request corpus end to end: each request goes through the real
 * etoken-ca-client (as myproxy, as MyProxy runs it) and the real
 * etoken-ca-server with its parser and signer. Each gets a refusal naming
 * its reason on one line of stderr and no certificate, except huge
 * lifetimes, which get a capped certificate; nothing else is issued, and the
 * server keeps serving. The client refuses what the contract's own rules
 * refuse before spooling; every other refusal is the server's, and its audit
 * record names the same reason.
 */
import { X509Certificate } from 'node:crypto';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { prepareRequest } from '../../packages/ca-client/src/prepare-request.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS_CONFIG, hostileRequests, type CorpusEntry } from '../corpus/corpus.js';
import { makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { runClient, type ClientResult } from '../helpers/spool-client.js';
import { myproxyRequest } from '../../packages/ca-client/src/testing/myproxy-request.js';
import { makeCsr } from '../helpers/fake-server.js';

const PARALLEL = 8;
const MAX_LIFETIME_S = 1_000_000;
const BACKDATE_S = 300;

/** Whether the client refuses the request itself, before spooling (the same rules as the parser's, run in-process). */
function refusedByClient(entry: CorpusEntry): boolean {
  try {
    prepareRequest(Buffer.from(entry.bytes), parseConfig(CORPUS_CONFIG, 'corpus.conf'));
    return entry.bytes.length > 16384;
  } catch {
    return true;
  }
}

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;
const results = new Map<string, ClientResult>();
const entries = hostileRequests();

function expectHandled(entry: CorpusEntry, r: ClientResult): void {
  const what = `${entry.name}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`;
  if (entry.expect === 'capped') {
    expect(r.code, what).toBe(0);
    const cert = new X509Certificate(r.stdout);
    const lifetime = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 1000;
    expect(lifetime, what).toBeLessThanOrEqual(MAX_LIFETIME_S + BACKDATE_S);
    expect(lifetime - BACKDATE_S, what).toBeLessThan(entry.proxyLifetime);
    return;
  }
  expect(r.code, what).not.toBe(0);
  expect(r.stdout, what).toBe('');
  expect(r.stderr, what).toMatch(/^etoken-ca: [^\n]+\n$/);
  if (entry.expect === 'refused') expect(r.stderr, what).toMatch(entry.reason);
}

beforeAll(async () => {
  expect(CORPUS_CONFIG).toBe('DN_FORMAT=/DC=org/DC=example%s\n');
  token = createTestToken({ label: `corpus-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  fixture = makeServerFixture(token);
  server = await startServer(fixture, token.pin);
  for (let i = 0; i < entries.length; i += PARALLEL) {
    const batch = entries.slice(i, i + PARALLEL);
    const done = await Promise.all(batch.map((e) => runClient(e.bytes, fixture.configPath)));
    batch.forEach((e, j) => results.set(e.name, done[j]!));
  }
}, 300_000);

afterAll(async () => {
  await server?.stop();
  token?.cleanup();
  if (fixture) removeFixture(fixture);
});

describe(`the hostile corpus (${entries.length} requests) through client and server`, () => {
  it.each(entries.map((e) => [e.name, e] as const))('%s', (_name, entry) => {
    expectHandled(entry, results.get(entry.name)!);
  });

  it('has an audit record of the server naming the reason of each request the client did not refuse itself', () => {
    const refusals = server.events('cert.refused').map((e) => String(e.reason));
    const serverSide = entries.flatMap((e) => (e.expect === 'refused' && !refusedByClient(e) ? [e] : []));
    for (const entry of serverSide) {
      const at = refusals.findIndex((reason) => entry.reason.test(reason));
      expect(at, `${entry.name}: no cert.refused record matching ${String(entry.reason)}`).toBeGreaterThanOrEqual(0);
      refusals.splice(at, 1);
    }
    expect(refusals, 'refusals no corpus entry accounts for').toEqual([]);
    expect(server.events('request.received')).toHaveLength(serverSide.length + entries.filter((e) => e.expect === 'capped').length);
  });

  it('issued nothing but the capped certificates, and keeps serving', async () => {
    const capped = entries.filter((e) => e.expect === 'capped').length;
    expect(server.events('cert.issued')).toHaveLength(capped);
    const genuine = await runClient(myproxyRequest((await makeCsr(fixture.dir, 'after')).pem, { username: '/O=Example/CN=After Corpus' }), fixture.configPath);
    expect(genuine.code, genuine.stderr).toBe(0);
    expect(server.exited).toBe(false);
    expect(server.events('cert.issued')).toHaveLength(capped + 1);
  });
});
