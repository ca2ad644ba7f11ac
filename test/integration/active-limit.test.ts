/**
 * MAX_ACTIVE_CERTS through the real client and server: refused at the
 * limit, or with REVOKE_ON_REPLACE=yes the oldest certificate superseded
 * (its revoke record goes with the new certificate; index.txt shows it on
 * the CRL path, not on the issuance path).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { myproxyRequest } from '../../packages/ca-client/src/testing/myproxy-request.js';
import { makeServerFixture, removeFixture, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { makeCsr } from '../helpers/fake-server.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { runClient } from '../helpers/spool-client.js';
import { pollUntil } from '../helpers/wait-until.js';

let token: TestToken;
let request: (cn: string) => Buffer;
const running: { server: RunningServer; fixture: ServerFixture }[] = [];

async function serverWith(keys: Record<string, string>): Promise<{ server: RunningServer; fixture: ServerFixture }> {
  const fixture = makeServerFixture(token, keys);
  const server = await startServer(fixture, token.pin);
  running.push({ server, fixture });
  return { server, fixture };
}

const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber.replace(/^(00)+(?=.)/, '');

function indexStatus(fixture: ServerFixture, serial: string): string | undefined {
  const line = readFileSync(join(fixture.caDir, 'index.txt'), 'utf8').split('\n').find((l) => l.split('\t')[3] === serial);
  return line?.split('\t').slice(0, 3).join('\t');
}

beforeAll(async () => {
  token = createTestToken({ label: `limit-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  const dir = makeServerFixture(token).dir;
  const csr = (await makeCsr(dir, 'limit')).pem;
  request = (cn) => myproxyRequest(csr, { username: `/O=Example/CN=${cn}` });
});

afterAll(async () => {
  for (const { server, fixture } of running) {
    await server.stop();
    removeFixture(fixture);
  }
  token?.cleanup();
});

describe('MAX_ACTIVE_CERTS', () => {
  it('refuses past the limit by default', async () => {
    const { fixture } = await serverWith({ MAX_ACTIVE_CERTS: '1' });
    expect((await runClient(request('Limited'), fixture.configPath)).code).toBe(0);
    const second = await runClient(request('Limited'), fixture.configPath);
    expect(second.code).toBe(65);
    expect(second.stderr).toMatch(/already has 1 valid certificate/);
    expect((await runClient(request('Someone Else'), fixture.configPath)).code).toBe(0);
  });

  it('supersedes the oldest certificate with REVOKE_ON_REPLACE=yes', async () => {
    const { server, fixture } = await serverWith({ MAX_ACTIVE_CERTS: '1', REVOKE_ON_REPLACE: 'yes' });
    const first = await runClient(request('Replaced'), fixture.configPath);
    const second = await runClient(request('Replaced'), fixture.configPath);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    const [old, replacement] = [serialOf(first.stdout), serialOf(second.stdout)];
    // The answer goes out before the server logs it and writes its index line.
    const [revoked] = await server.waitFor('cert.revoked', 1, 30_000, (e) => e.serial === old);
    expect(revoked).toMatchObject({ reason: 'superseded', replacement });
    await server.waitFor('cert.issued', 1, 30_000, (e) => e.serial === replacement);
    expect(indexStatus(fixture, replacement)).toMatch(/^V\t/);
    // The CRL path (due at once: a certificate was revoked outside the queue) publishes the CRL, then rewrites
    // index.txt at its checkpoint; the start-up CRL, with no entries, is not that one.
    await server.waitFor('crl.issued', 1, 30_000, (r) => (r.entries as number) >= 1);
    await pollUntil(() => /^R\t\d+Z\t\d+Z,superseded$/.test(indexStatus(fixture, old) ?? ''), 30_000, () => `index.txt: ${indexStatus(fixture, old)}`);
  });
});
