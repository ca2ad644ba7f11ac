/**
 * Load end to end: 8 myproxy-logon clients in parallel against the real
 * myproxy-server, etoken-ca-client and etoken-ca-server on a SoftHSM token,
 * LOAD_CERTIFICATES in all (1,000 by default). Every logon succeeds; every certificate verifies
 * with openssl against the CA and is valid in index.txt under its serial;
 * no serial twice; no lock or answer left; no error in the server's log.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_BIN, makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { startMyProxy, type MyProxyServer } from '../helpers/myproxy.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { pollUntil } from '../helpers/wait-until.js';

/**
 * Each lane sends its own ready-made request (`myproxy-logon -Q`): the RSA key
 * myproxy-logon otherwise makes for every logon took half of the test's
 * minutes and says nothing about the CA. LOAD_CERTIFICATES=N runs a shorter
 * load locally.
 */
const LOAD_CERTIFICATES = Number(process.env.LOAD_CERTIFICATES ?? 1000);
const PARALLEL = 8;
const VERIFY_BATCH = 200;
/** pino's error level: nothing at or above it may be logged under load. */
const PINO_ERROR = 50;

let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;
let myproxy: MyProxyServer;
let laneRequests: string[];

beforeAll(async () => {
  token = createTestToken({ label: `load-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  fixture = makeServerFixture(token);
  server = await startServer(fixture, token.pin);
  myproxy = await startMyProxy({ calloutPath: CLIENT_BIN, env: { ETOKEN_CA_CONFIG: fixture.configPath } });
  laneRequests = Array.from({ length: PARALLEL }, () => certificateRequest());
});

/** A CSR for a fresh RSA-2048 key, as myproxy-logon would make it. */
function certificateRequest(): string {
  return execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=NULL SUBJECT NAME ENTRY'], {
    encoding: 'utf8',
  });
}

afterAll(async () => {
  await myproxy?.stop();
  await server?.stop();
  token?.cleanup();
  if (fixture) removeFixture(fixture);
});

describe(`${LOAD_CERTIFICATES} certificates through ${PARALLEL} parallel myproxy-logon clients`, () => {
  // The time limit is a deadline for a stuck run, not a speed limit: 1,000 logons took 4 minutes on a quiet 2-core
  // machine (each making its own key), 10 to 20 beside other test files.
  it('issues every one, valid and recorded, and leaves nothing behind', async () => {
    const pems: string[] = [];
    const failures: string[] = [];
    let next = 0;
    const started = Date.now();
    const worker = async (lane: number): Promise<void> => {
      for (let n = next++; n < LOAD_CERTIFICATES; n = next++) {
        const r = await myproxy.logon({ username: `/O=Example/OU=Lane ${lane}/CN=Load User ${n}`, hours: 1, csrPem: laneRequests[lane]! });
        if (r.code === 0 && r.certPem) pems.push(r.certPem);
        else failures.push(`logon ${n}: exit ${r.code}: ${r.stderr.trim()}`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, (_, lane) => worker(lane)));
    const seconds = (Date.now() - started) / 1000;
    console.log(`load: ${pems.length} certificates in ${seconds.toFixed(1)} s (${(pems.length / seconds).toFixed(1)}/s) with ${PARALLEL} clients`);
    expect(failures).toEqual([]);
    expect(pems).toHaveLength(LOAD_CERTIFICATES);

    const files = pems.map((pem, i) => {
      const file = join(fixture.dir, `load-${i}.pem`);
      writeFileSync(file, pem);
      return file;
    });
    for (let i = 0; i < files.length; i += VERIFY_BATCH) {
      const batch = files.slice(i, i + VERIFY_BATCH);
      const out = execFileSync('openssl', ['verify', '-CAfile', token.caCertPath, ...batch], { encoding: 'utf8' });
      expect(out.split('\n').filter((l) => l.endsWith(': OK'))).toHaveLength(batch.length);
    }

    const index = new Map<string, string>();
    for (const line of readFileSync(join(fixture.caDir, 'index.txt'), 'utf8').split('\n').filter(Boolean)) {
      const [status, , , serial] = line.split('\t');
      expect(index.has(serial!), `serial ${serial} twice`).toBe(false);
      index.set(serial!, status!);
    }
    const serials = pems.map((pem) => new X509Certificate(pem).serialNumber.replace(/^(00)+(?=.)/, ''));
    expect(new Set(serials).size).toBe(LOAD_CERTIFICATES);
    expect(serials.filter((s) => index.get(s) !== 'V')).toEqual([]);

    expect(readdirSync(join(fixture.spoolDir, 'incoming'))).toEqual([]);
    // Answers go at a sweep (every 2 s) once their client has gone: a deadline far past that, for a loaded machine.
    const answers = (): string[] => readdirSync(join(fixture.spoolDir, 'answers'));
    await pollUntil(() => answers().length === 0, 60_000, () => `${answers().length} answers left, e.g. ${answers().slice(0, 3).join(' ')}`);
    expect(server.logs.filter((l) => Number(l.level) >= PINO_ERROR)).toEqual([]);
    expect(server.events('cert.issued')).toHaveLength(LOAD_CERTIFICATES);
  }, 30 * 60_000);
});
