/**
 * The demo: a SoftHSM token with a fresh CA key, etoken-ca-server with its
 * parser and signer under their own users, a certificate through
 * etoken-ca-client and one through myproxy-logon, a revocation with
 * revoke-cert and the CRL it publishes, then the database listing.
 * Everything it starts is stopped and removed at the end.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_BIN, makeServerFixture, removeFixture, REVOKE_BIN, startServer, type RunningServer, type ServerFixture } from '../test/helpers/ca-server.js';
import { myproxyUnavailable, startMyProxy, type MyProxyServer } from '../test/helpers/myproxy.js';
import { createTestToken, type TestToken } from '../test/helpers/softhsm.js';
import { STAGE, stageCode } from '../test/helpers/staged-code.js';
import { systemUser } from '../test/helpers/users.js';

const say = (line: string): void => void process.stdout.write(`demo: ${line}\n`);

function describeCert(pem: string): string {
  const c = new X509Certificate(pem);
  return `serial ${c.serialNumber}, subject ${c.subject.replace(/\n/g, ', ')}, valid until ${c.validTo}`;
}

function runClient(fixture: ServerFixture, username: string): { status: number | null; stdout: string; stderr: string } {
  const csr = execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=NULL SUBJECT NAME ENTRY'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    encoding: 'utf8',
  });
  const request = [
    `username=${username}`,
    'passphrase=never stored',
    'proxy_lifetime=43200',
    ...['retrievers', 'renewers', 'credname', 'creddesc', 'authzcreds', 'keyretrieve', 'trusted_retrievers'].map((k) => `${k}=NULL`),
    'max_cert_lifetime=0',
    '',
    csr,
  ].join('\n');
  const myproxy = systemUser('myproxy');
  const r = spawnSync(CLIENT_BIN, [], {
    input: request,
    uid: myproxy.uid,
    gid: myproxy.gid,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ETOKEN_CA_CONFIG: fixture.configPath },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function main(): Promise<void> {
  let token: TestToken | undefined;
  let fixture: ServerFixture | undefined;
  let server: RunningServer | undefined;
  let myproxy: MyProxyServer | undefined;
  try {
    stageCode({ faultPoints: false });
    say(`programs installed into ${STAGE} with etoken-ca-server install --prefix (a root-owned copy every account can read, wherever this checkout is)`);
    token = createTestToken({ label: 'etoken-ca demo', keyType: 'rsa', owner: 'causer' });
    say(`SoftHSM token "${token.label}" (serial ${token.serial}) with a CA key generated on it`);
    say(`CA certificate: ${describeCert(token.caCertPem)}`);
    fixture = makeServerFixture(token);
    server = await startServer(fixture, token.pin);
    say(`etoken-ca-server running (config ${fixture.configPath}); PIN given on --pin-fd, token logged in`);

    const issued = runClient(fixture, '/O=Example/CN=Demo User email=demo@example.org');
    if (issued.status !== 0) throw new Error(`etoken-ca-client exited ${issued.status}: ${issued.stderr.trim()}`);
    say(`etoken-ca-client (as user myproxy) got: ${describeCert(issued.stdout)}`);

    const refused = runClient(fixture, '/O=Example/CN=Mallory+CN=Root CA');
    say(`a username with a multi-valued RDN is refused: exit ${refused.status}, "${refused.stderr.trim()}"`);

    const why = myproxyUnavailable();
    if (why) say(`myproxy-logon step skipped: ${why}`);
    else {
      myproxy = await startMyProxy({ calloutPath: CLIENT_BIN, env: { ETOKEN_CA_CONFIG: fixture.configPath } });
      const logon = await myproxy.logon({ username: '/O=Example/CN=Jane Doe email=jane@example.org', hours: 12 });
      if (logon.code !== 0 || !logon.certPem) throw new Error(`myproxy-logon failed: ${logon.stderr.trim()}`);
      say(`myproxy-logon through myproxy-server got: ${describeCert(logon.certPem)}`);
    }

    const serial = new X509Certificate(issued.stdout).serialNumber;
    const revoked = execFileSync(REVOKE_BIN, [serial, '--reason', 'keyCompromise', '--config', fixture.configPath], { encoding: 'utf8' });
    say(`revoke-cert ${serial} --reason keyCompromise: ${revoked.trim().replace(/\n/g, '; ')}`);
    const crlPath = join(fixture.dir, 'crl', 'crl.pem');
    const crl = execFileSync('openssl', ['crl', '-in', crlPath, '-noout', '-text', '-CAfile', token.caCertPath], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const crlNumber = /X509v3 CRL Number:\s*\n\s*(\d+)/.exec(crl)?.[1];
    say(`published CRL ${crlPath}: number ${crlNumber}, signed by the CA on the token, lists ${(crl.match(/Serial Number:/g) ?? []).length} revoked certificate(s)`);
    const certFile = join(fixture.dir, 'demo-user.pem');
    writeFileSync(certFile, issued.stdout);
    const check = spawnSync('openssl', ['verify', '-crl_check', '-CAfile', token.caCertPath, '-CRLfile', crlPath, certFile], { encoding: 'utf8' });
    say(`openssl verify -crl_check on the revoked certificate: ${(check.stdout + check.stderr).includes('certificate revoked') ? 'rejected, certificate revoked' : 'NOT rejected'}`);

    const list = execFileSync(REVOKE_BIN, ['--list', '--config', fixture.configPath], { encoding: 'utf8' });
    say('revoke-cert --list:');
    process.stdout.write(`${list.trimEnd().replace(/^/gm, '  ')}\n`);
    const count = (event: string): number => server!.events(event).length;
    say(`audit log: ${count('cert.issued')} cert.issued, ${count('cert.refused')} cert.refused, ${server.logs.length} records in all`);
  } finally {
    await myproxy?.stop();
    if (server) {
      const code = await server.stop();
      say(`etoken-ca-server stopped (exit ${code})`);
    }
    token?.cleanup();
    if (fixture) removeFixture(fixture);
    say('everything the demo started is stopped and removed');
  }
}

main().catch((e: Error) => {
  process.stderr.write(`demo: failed: ${e.message}\n`);
  process.exit(1);
});
