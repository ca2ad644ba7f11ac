/**
 * The CA signs only inside its namespace, never its own name, and tells
 * relying parties so. DN_FORMAT has no default; SUBJECT_NAMESPACE narrows
 * (or widens) what DN_FORMAT's fixed part gives; `--signing-policy` prints a
 * signing_policy file that the Globus GSI code myproxy-server runs accepts,
 * and enforces: a certificate this CA issued authenticates to a
 * myproxy-server that trusts the CA with that file, and not once the file
 * excludes its subject.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeServerFixture, removeFixture, SERVER_BIN, startServer, type RunningServer, type ServerFixture } from '../helpers/ca-server.js';
import { makeCsr } from '../helpers/fake-server.js';
import { startMyProxy, type MyProxyServer } from '../helpers/myproxy.js';
import { openssl } from '../helpers/pki.js';
import { createTestToken, type TestToken } from '../helpers/softhsm.js';
import { runClient } from '../helpers/spool-client.js';
import { CLIENT_BIN } from '../helpers/staged-code.js';
import { myproxyRequest } from '../../packages/ca-client/src/testing/myproxy-request.js';

const NAMESPACE = '"/DC=org/DC=example/O=Example/*"';
let token: TestToken;
let fixture: ServerFixture;
let server: RunningServer;
const opened: ServerFixture[] = [];

function signingPolicy(config: string): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(SERVER_BIN, ['--signing-policy', '--config', config], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

beforeAll(async () => {
  token = createTestToken({ label: `namespace-${process.pid}`, keyType: 'rsa', owner: 'causer' });
  fixture = makeServerFixture(token, { SUBJECT_NAMESPACE: NAMESPACE });
  server = await startServer(fixture, token.pin);
});

afterAll(async () => {
  await server?.stop();
  token?.cleanup();
  for (const f of [fixture, ...opened]) if (f) removeFixture(f);
});

describe('the namespace', () => {
  it('refuses a username whose subject falls outside it, before anything is spooled', async () => {
    const received = server.events('request.received').length;
    const csr = await makeCsr(fixture.dir, 'outside');
    const r = await runClient(myproxyRequest(csr.pem, { username: '/O=Elsewhere/CN=Mallory' }), fixture.configPath);
    expect(r).toMatchObject({ code: 65, stdout: '', stderr: 'etoken-ca: subject /DC=org/DC=example/O=Elsewhere/CN=Mallory outside the CA namespace\n' });
    expect(server.events('request.received')).toHaveLength(received);
    const inside = await runClient(myproxyRequest(csr.pem, { username: '/O=Example/CN=Jane' }), fixture.configPath);
    expect(inside.code, inside.stderr).toBe(0);
  });

  it("refuses a subject equal to the CA certificate's own, even inside the namespace", async () => {
    const own = makeServerFixture(token, { DN_FORMAT: '/O=etoken-ca test%s' });
    opened.push(own);
    const ownServer = await startServer(own, token.pin);
    try {
      const csr = await makeCsr(own.dir, 'own');
      const r = await runClient(myproxyRequest(csr.pem, { username: `/CN=Test CA ${token.label}` }), own.configPath);
      expect(r).toMatchObject({ code: 65, stdout: '', stderr: "etoken-ca: subject equal to the CA's own\n" });
      expect(ownServer.events('cert.refused').at(-1)).toMatchObject({ reason: "subject equal to the CA's own" });
      expect(ownServer.events('cert.issued')).toEqual([]);
    } finally {
      await ownServer.stop();
    }
  });

  it('has no default: a config without DN_FORMAT stops the server with exit 78 and names the key', () => {
    const bare = makeServerFixture(token);
    opened.push(bare);
    writeFileSync(bare.configPath, readFileSync(bare.configPath, 'utf8').replace(/^DN_FORMAT=.*\n/m, ''));
    const run = spawnSync(SERVER_BIN, ['--config', bare.configPath], { encoding: 'utf8' });
    expect(run.status).toBe(78);
    expect(run.stderr).toBe(`etoken-ca-server: ${bare.configPath}: DN_FORMAT: missing: it has no default and must be set\n`);
  });
});

describe('--signing-policy', () => {
  it('prints the CA subject and the namespace in the EACL format', () => {
    const out = signingPolicy(fixture.configPath);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`access_id_CA      X509         '/O=etoken-ca test/CN=Test CA ${token.label}'`);
    expect(out.stdout).toContain('pos_rights        globus       CA:sign');
    expect(out.stdout).toContain(`cond_subjects     globus       '${NAMESPACE}'`);
  });

  it('is accepted and enforced by the Globus code of myproxy-server: a certificate of this CA authenticates while its subject is inside, not once it is outside', async () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyPath = join(fixture.dir, 'jane.key');
    writeFileSync(keyPath, key.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const csr = await openssl(['req', '-new', '-key', keyPath, '-subj', '/CN=NULL SUBJECT NAME ENTRY']);
    const issued = await runClient(myproxyRequest(csr, { username: '/O=Example/CN=Jane Retriever' }), fixture.configPath);
    expect(issued.code, issued.stderr).toBe(0);
    const certPath = join(fixture.dir, 'jane.pem');
    writeFileSync(certPath, issued.stdout, { mode: 0o644 });
    const subject = '/DC=org/DC=example/O=Example/CN=Jane Retriever';

    let myproxy: MyProxyServer | undefined;
    try {
      myproxy = await startMyProxy({ calloutPath: CLIENT_BIN, env: { ETOKEN_CA_CONFIG: fixture.configPath }, extraConfig: [`trusted_retrievers "${subject}"`] });
      const hash = (await openssl(['x509', '-in', token.caCertPath, '-noout', '-hash'])).trim();
      copyFileSync(token.caCertPath, join(myproxy.pki.trustDir, `${hash}.0`));
      chmodSync(join(myproxy.pki.trustDir, `${hash}.0`), 0o644);
      const policy = join(myproxy.pki.trustDir, `${hash}.signing_policy`);
      const logon = () => myproxy!.logon({ username: '/O=Example/CN=Jane Retriever', hours: 1, keyBits: 2048, credential: { certPath, keyPath } });

      writeFileSync(policy, signingPolicy(fixture.configPath).stdout, { mode: 0o644 });
      const inside = await logon();
      expect(inside.code, inside.stderr).toBe(0);
      expect(inside.certPem).not.toBeNull();

      writeFileSync(policy, signingPolicy(fixture.configPath).stdout.replace(NAMESPACE, '"/DC=org/DC=example/O=Other/*"'), { mode: 0o644 });
      // Only the policy file changed: the handshake now fails on the client's certificate.
      const outside = await logon();
      expect(outside.code).not.toBe(0);
      expect(outside.certPem).toBeNull();
      expect(outside.stderr).toMatch(/GSS Major Status|signing policy/i);
    } finally {
      await myproxy?.stop();
    }
  });
});
