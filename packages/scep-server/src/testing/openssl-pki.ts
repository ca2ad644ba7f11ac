/**
 * A throw-away file CA made with openssl for the tests, and an RA key and
 * certificate it issued. Nothing is kept: each test run makes its own.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  readonly caCertificate: Buffer;
  readonly raCertificate: Buffer;
  readonly raKeyPem: string;
  /** Signs a CSR (DER) with the CA key as an end-entity certificate (DER). */
  issue(csr: Buffer): Buffer;
  /** A fresh CRL of the CA (DER). */
  crl(): Buffer;
  /** Another RA certificate and key from the same CA. */
  otherRa(): { certificate: Buffer; keyPem: string };
  remove(): void;
}

const END_ENTITY = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n';

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'scep-test-pki-'));
  const path = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(path('end-entity.ext'), END_ENTITY);
  writeFileSync(path('index.txt'), '');
  writeFileSync(path('crlnumber'), '01\n');
  writeFileSync(path('ca.cnf'), `[ca]\ndefault_ca=test\n[test]\ndatabase=${path('index.txt')}\ncrlnumber=${path('crlnumber')}\ndefault_md=sha256\ndefault_crl_days=1\n`);
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/O=etoken-ca test/CN=SCEP Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');

  const issuePem = (csrPem: string, out: string): void => {
    writeFileSync(path('request.csr'), csrPem);
    openssl('x509', '-req', '-in', 'request.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-days', '1', '-extfile', 'end-entity.ext', '-outform', 'DER', '-out', out);
  };
  const newRa = (name: string): { certificate: Buffer; keyPem: string } => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=etoken-ca test/CN=${name}`);
    issuePem(readFileSync(path(`${name}.csr`), 'utf8'), `${name}.der`);
    return { certificate: readFileSync(path(`${name}.der`)), keyPem: readFileSync(path(`${name}.key`), 'utf8') };
  };
  const ra = newRa('SCEP RA');

  return {
    dir,
    caCertificate: new X509Certificate(readFileSync(path('ca.pem'))).raw,
    raCertificate: ra.certificate,
    raKeyPem: ra.keyPem,
    issue(csr) {
      issuePem(pem('CERTIFICATE REQUEST', csr), 'issued.der');
      return readFileSync(path('issued.der'));
    },
    crl() {
      openssl('ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', 'ca.crl');
      openssl('crl', '-in', 'ca.crl', '-outform', 'DER', '-out', 'ca.crl.der');
      return readFileSync(path('ca.crl.der'));
    },
    otherRa: () => newRa('Other RA'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
