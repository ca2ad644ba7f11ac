/**
 * certmonger (Debian's package, its daemon on a private session bus) against
 * the real chain under the default (strong) algorithms: scep-submit reads
 * GetCACaps and GetCACert; an enrollment without a challenge waits PENDING
 * (SCEP_UNAUTHENTICATED=wait) until an operator approves it with
 * `etoken-ca-server scep approve`, and certmonger then picks the
 * certificate up by polling (it sends its request again under the same
 * transaction id, answered from the workflow's record); a resubmission renews it
 * with a request signed by the current certificate. Every certificate
 * verifies against the CA and shows in `openssl ca -status`; the replaced
 * one is revoked into the CRL.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Certmonger } from '../../packages/scep-server/src/testing/certmonger.js';
import { requireDebianPackages } from '../../packages/scep-server/src/testing/debian-packages.js';
import { runProgram } from '../../packages/scep-server/src/testing/run-program.js';
import { verifiesWithCrl } from '../helpers/revocation.js';
import { startScepCa, type ScepCa } from '../helpers/scep-ca.js';
import { pollUntil } from '../helpers/wait-until.js';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 600_000 });

const HOST_SUBJECT = '/DC=org/DC=example/OU=hosts/CN=host1.example.org';

let ca: ScepCa;
let certmonger: Certmonger;
const serialOf = (pem: Buffer): string => new X509Certificate(pem).serialNumber.toUpperCase().replace(/^(00)+(?=.)/, '');

beforeAll(async () => {
  requireDebianPackages(['certmonger', 'dbus']);
  ca = await startScepCa(`e2e-certmonger-${process.pid}`, { SCEP_UNAUTHENTICATED: 'wait' });
  certmonger = new Certmonger();
});

afterAll(async () => {
  certmonger?.remove();
  await ca?.stop();
});

describe("certmonger's scep-submit", () => {
  const scepSubmit = (...args: string[]) => runProgram('/usr/lib/certmonger/scep-submit', args);

  it('reads the capabilities: POSTPKIOperation, SHA-256, AES, Renewal, SCEPStandard, and no GetNextCACert', async () => {
    const run = await scepSubmit('-u', ca.url, '-c');
    expect(run.status, run.output).toBe(0);
    expect(run.stdout.split('\n')).toEqual(expect.arrayContaining(['POSTPKIOperation', 'SHA-256', 'AES', 'Renewal', 'SCEPStandard']));
    expect(run.stdout).not.toContain('GetNextCACert');
  });

  it('reads the RA certificate and the token CA certificate from GetCACert', async () => {
    const run = await scepSubmit('-u', ca.url, '-C');
    expect(run.status, run.output).toBe(0);
    expect(run.stdout).toBe(readFileSync(ca.fixture.configPath.replace('etoken-ca.conf', 'scep/ra.pem'), 'utf8') + ca.token.caCertPem);
  });

  it('answers GetNextCACert with 404: there is no rollover certificate', async () => {
    const response = await fetch(`${ca.url}?operation=GetNextCACert`);
    expect(response.status).toBe(404);
  });
});

describe('certmonger, its daemon driving scep-submit', () => {
  it('waits PENDING for an operator, completes by polling once approved, and renews with its certificate', async () => {
    const dir = certmonger.dir;
    const key = join(dir, 'host.key');
    const certificate = join(dir, 'host.pem');
    const status = 'getcert list -s -i host | sed -n "s/^[[:space:]]*status: //p"';
    const waitFor = (condition: string, tries = 750) => `for i in $(seq ${tries}); do ${condition} && break; sleep 0.2; done; ${condition}`;
    const run = certmonger.run(
      [
        `getcert add-scep-ca -s -c etoken -u ${ca.url}`,
        `getcert request -s -c etoken -I host -k ${key} -f ${certificate} -N 'DC=org,DC=example,OU=hosts,CN=host1.example.org' -D host1.example.org -A 192.0.2.7`,
        waitFor(`[ "$(${status})" = CA_WORKING ]`),
        `touch ${dir}/pending`,
        waitFor(`[ -e ${dir}/approved ]`),
        // The CA has issued; certmonger's own poll interval is long: ask it to poll now.
        'getcert refresh -s -i host',
        waitFor(`[ "$(${status})" = MONITORING ]`),
        `cp ${certificate} ${certificate}.first`,
        'getcert resubmit -s -i host -w --wait-timeout=60',
        waitFor(`[ "$(${status})" = MONITORING ]`),
        'getcert list -s -i host',
      ].join('\n'),
      200_000,
    );

    // The script fails on its own if certmonger never gets there: its output then says why.
    await Promise.race([
      pollUntil(() => existsSync(join(dir, 'pending')), 180_000, () => 'certmonger never reached CA_WORKING'),
      run.then((r) => Promise.reject(new Error(`certmonger's script ended before CA_WORKING (${r.status}): ${r.output}`))),
    ]);
    const listed = ca.command(['pending', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const [waiting, ...others] = JSON.parse(listed.stdout) as { transactionId: string; subject: string; authentication: string; points: number; required: number; dnsNames: string[]; ipAddresses: string[] }[];
    expect(others).toEqual([]);
    expect(waiting).toMatchObject({ subject: HOST_SUBJECT, authentication: 'none', points: 0, required: 1, dnsNames: ['host1.example.org'], ipAddresses: ['192.0.2.7'] });
    expect(ca.server.events('cert.issued')).toHaveLength(1); // the RA certificate only

    const approval = ca.command(['approve', waiting!.transactionId]);
    expect(approval.code, approval.stderr).toBe(0);
    expect(approval.stdout).toMatch(/approved by .*; certificate [0-9A-F]+ issued/);
    expect(await ca.server.waitFor('scep.approved')).toEqual([expect.objectContaining({ txid: waiting!.transactionId, points: 1, required: 1 })]);
    // Each operator counts once.
    expect(ca.command(['approve', waiting!.transactionId]).code).not.toBe(0);
    writeFileSync(join(dir, 'approved'), '');

    const result = await run;
    expect(result.status, `${result.output}\n${JSON.stringify(ca.server.logs.filter((r) => String(r.event).startsWith('scep')).slice(-6))}`).toBe(0);
    const first = readFileSync(`${certificate}.first`);
    const renewed = readFileSync(certificate);
    const caKey = new X509Certificate(ca.token.caCertPem).publicKey;
    for (const pem of [first, renewed]) {
      const issued = new X509Certificate(pem);
      expect(issued.verify(caKey)).toBe(true);
      expect(issued.subjectAltName).toBe('DNS:host1.example.org, IP Address:192.0.2.7');
    }
    expect(serialOf(renewed)).not.toBe(serialOf(first));
    expect((await ca.server.waitFor('scep.workflow', 2)).at(-1)).toMatchObject({ auth: 'renewal', kind: 'renew', signer: serialOf(first) });
    expect(ca.opensslStatus(serialOf(renewed))).toContain('=Valid (V)');
    await pollUntil(() => ca.opensslStatus(serialOf(first)).includes('=Revoked (R)'), 30_000, () => ca.opensslStatus(serialOf(first)));
    const firstFile = join(ca.fixture.dir, 'host-first.pem');
    writeFileSync(firstFile, first);
    await pollUntil(() => !verifiesWithCrl(ca.token.caCertPath, join(ca.fixture.dir, 'crl', 'crl.pem'), firstFile), 30_000, () => 'the replaced certificate is not in the CRL');
    // certmonger polls by sending its request again under the same transaction id: answered from the workflow's record, signed once.
    expect(ca.server.events('scep.repeated')).toEqual(expect.arrayContaining([expect.objectContaining({ txid: waiting!.transactionId, state: 'issued' })]));
    expect(ca.server.events('cert.issued')).toHaveLength(3); // the RA's, the approved one, the renewal
  });
});
