/**
 * Revocation end to end: a certificate issued through myproxy-logon, revoked
 * with revoke-cert, is in the CRL the server publishes, and openssl's CRL
 * check rejects it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaBehindMyProxy, type CaBehindMyProxy } from '../helpers/ca-behind-myproxy.js';
import { crlNumbersIn, crlText, revokeCert, verifiesWithCrl } from '../helpers/revocation.js';
import { openssl } from '../helpers/softhsm.js';

let ca: CaBehindMyProxy;

beforeAll(async () => {
  ca = await startCaBehindMyProxy(`e2e-revoke-${process.pid}`);
});

afterAll(async () => {
  await ca?.stop();
});

describe('revocation of a certificate issued through myproxy-logon', () => {
  it('is published in the CRL, and the CRL check rejects the certificate', async () => {
    const { token, fixture, server, myproxy } = ca;
    const logon = await myproxy.logon({ username: '/O=Example/CN=Revoked User', hours: 1 });
    expect(logon.code, logon.stderr).toBe(0);
    const certFile = join(fixture.dir, 'user.pem');
    writeFileSync(certFile, logon.certPem!);
    const crl = join(fixture.dir, 'crl', 'crl.pem');
    await server.waitFor('crl.issued');
    expect(verifiesWithCrl(token.caCertPath, crl, certFile)).toBe(true);

    const r = await revokeCert(fixture, [certFile, '--reason', 'keyCompromise']);
    expect(r.code, r.stderr).toBe(0);
    const serial = openssl(['x509', '-noout', '-serial', '-in', certFile]).trim().replace('serial=', '');
    const [number] = crlNumbersIn(r.stdout);
    const text = crlText(crl);
    expect(text).toMatch(new RegExp(`X509v3 CRL Number:\\s*\\n\\s*${number}\\b`));
    expect(text).toMatch(new RegExp(`Serial Number: ${serial}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`));
    expect(verifiesWithCrl(token.caCertPath, crl, certFile)).toBe(false);
    expect(server.events('cert.revoked')).toEqual([expect.objectContaining({ serial, subject: '/DC=org/DC=example/O=Example/CN=Revoked User', reason: 'keyCompromise' })]);
  });
});
