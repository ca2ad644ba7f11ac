/**
 * A throwaway software PKI made with the openssl command: a CA, the MyProxy
 * host certificate (CN=localhost), a trusted-retriever client certificate and
 * a Globus trust dir (`<hash>.0` plus `<hash>.signing_policy`) that both
 * myproxy-server and myproxy-logon read.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const TEST_CA_DN = '/O=Test/CN=Test CA';
export const HOST_DN = '/O=Test/CN=localhost';
/** The client DN myproxy-server lists in trusted_retrievers. */
export const CLIENT_DN = '/O=Test/CN=test client';

export interface CertAndKey {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface SoftwareCa extends CertAndKey {
  readonly subject: string;
}

export interface TestPki {
  readonly dir: string;
  readonly ca: SoftwareCa;
  readonly host: CertAndKey;
  readonly client: CertAndKey;
  /** X509_CERT_DIR for both sides; already trusts `ca`. */
  readonly trustDir: string;
}

/** Runs openssl and returns its stdout; a failure throws with openssl's stderr. */
export async function openssl(args: readonly string[]): Promise<string> {
  try {
    return (await execFileAsync('openssl', args, { encoding: 'utf8' })).stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.trim() || err.message}`);
  }
}

/** A self-signed RSA CA valid for 30 days. */
export async function createSoftwareCa(dir: string, subject = TEST_CA_DN): Promise<SoftwareCa> {
  mkdirSync(dir, { recursive: true });
  const certPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'ca.key');
  await openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '30',
    '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certPath, keyPath, subject };
}

/** An end-entity certificate signed by `ca`; `extensions` are `-addext` values. */
export async function issueCertificate(
  ca: SoftwareCa,
  dir: string,
  name: string,
  subject: string,
  extensions: readonly string[],
): Promise<CertAndKey> {
  const certPath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name}.key`);
  await openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '30',
    '-subj', subject, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-addext', 'basicConstraints=CA:FALSE',
    ...extensions.flatMap((ext) => ['-addext', ext]),
  ]);
  return { certPath, keyPath };
}

/** The subject of a certificate file in slash form (`/O=Test/CN=Test CA`). */
export async function subjectOf(certPath: string): Promise<string> {
  const line = await openssl(['x509', '-in', certPath, '-noout', '-subject', '-nameopt', 'compat']);
  return line.trim().replace(/^subject=\s*/, '');
}

/**
 * Adds a CA certificate to a trust dir with a signing policy that lets it
 * sign any subject. Returns the path of the `<hash>.0` file.
 */
export async function addTrustedCa(trustDir: string, caCertPath: string): Promise<string> {
  mkdirSync(trustDir, { recursive: true, mode: 0o755 });
  const hash = (await openssl(['x509', '-in', caCertPath, '-noout', '-hash'])).trim();
  const subject = await subjectOf(caCertPath);
  if (subject.includes("'")) throw new Error(`CA subject ${subject} cannot be quoted in a signing policy`);
  const certFile = join(trustDir, `${hash}.0`);
  if (existsSync(certFile) && readFileSync(certFile, 'utf8') !== readFileSync(caCertPath, 'utf8')) {
    throw new Error(`${certFile} already holds another CA with the same subject hash`);
  }
  copyFileSync(caCertPath, certFile);
  chmodSync(certFile, 0o644);
  const policy = `access_id_CA X509 '${subject}'\npos_rights globus CA:sign\ncond_subjects globus '"*"'\n`;
  writeFileSync(join(trustDir, `${hash}.signing_policy`), policy, { mode: 0o644 });
  return certFile;
}

/** CA, host and client certificates and a trust dir in `dir` (made world-traversable for the myproxy user). */
export async function createTestPki(dir: string): Promise<TestPki> {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  const ca = await createSoftwareCa(join(dir, 'ca'));
  const [host, client] = await Promise.all([
    issueCertificate(ca, dir, 'host', HOST_DN, ['extendedKeyUsage=serverAuth,clientAuth', 'subjectAltName=DNS:localhost']),
    issueCertificate(ca, dir, 'client', CLIENT_DN, ['extendedKeyUsage=clientAuth']),
  ]);
  const trustDir = join(dir, 'trust');
  await addTrustedCa(trustDir, ca.certPath);
  return { dir, ca, host, client, trustDir };
}
