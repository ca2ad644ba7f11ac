/**
 * Throw-away SoftHSM2 tokens for integration and end-to-end tests and the
 * demo: a token with a CA key pair generated on it and a self-signed CA
 * certificate signed on the token by the project's own x509 and token code.
 * Needs the dist build (`npx tsc -b`), softhsm2-util and pkcs11-tool.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey, randomBytes, randomInt, X509Certificate } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCaTbs } from '@etoken-ca/x509/ca-tbs';
import { caKeyTypeOf, signatureAlgorithm } from '@etoken-ca/x509/signature-algorithm';
import { assembleSigned } from '@etoken-ca/x509/signed';
import { openPkcs11Token } from '../../packages/ca-server/dist/signer/token/graphene-token.js';
import { systemUser } from './users.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export type TestKeyType = 'rsa' | 'ec-p256' | 'ec-p384';

export interface TestTokenOptions {
  readonly label: string;
  readonly keyType: TestKeyType;
  /** User to give the token directory to (the signer's CA_USER, e.g. causer). */
  readonly owner?: string;
}

export interface TestToken {
  /** SOFTHSM2_CONF for this token. */
  readonly conf: string;
  /** The token's own directory (inside SoftHSM's tokendir). */
  readonly tokenDir: string;
  readonly label: string;
  readonly serial: string;
  readonly pin: string;
  readonly soPin: string;
  readonly modulePath: string;
  readonly caCertPath: string;
  readonly caCertPem: string;
  /** CKA_ID of the CA key pair, hex. */
  readonly caKeyId: string;
  /** Moves the token directory away, as pulling the USB token does. */
  remove(): void;
  /** Puts it back (SoftHSM only sees it again after a re-initialize). */
  restore(): void;
  cleanup(): void;
}

const PKCS11_TOOL_KEY_TYPE: Readonly<Record<TestKeyType, string>> = {
  rsa: 'rsa:2048',
  'ec-p256': 'EC:prime256v1',
  'ec-p384': 'EC:secp384r1',
};

const YEAR_MS = 365 * 86400_000;

export function openssl(args: readonly string[], input?: string | Buffer): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

export function createTestToken(options: TestTokenOptions): TestToken {
  const base = mkdtempSync(join(tmpdir(), 'etoken-hsm-'));
  try {
    return populateTestToken(base, options);
  } catch (e) {
    rmSync(base, { recursive: true, force: true });
    throw e;
  }
}

function populateTestToken(base: string, options: TestTokenOptions): TestToken {
  chmodSync(base, 0o755); // the signer runs as another user and must reach conf and tokens
  const tokensDir = join(base, 'tokens');
  const conf = join(base, 'softhsm2.conf');
  const removedDir = join(base, 'removed');
  mkdirSync(tokensDir);
  chmodSync(tokensDir, 0o755);
  writeFileSync(conf, `directories.tokendir = ${tokensDir}\nobjectstore.backend = file\nlog.level = ERROR\n`, { mode: 0o644 });
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const pin = String(randomInt(10_000_000, 99_999_999));
  const soPin = String(randomInt(10_000_000, 99_999_999));
  const caKeyId = randomBytes(8).toString('hex');

  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', options.label, '--so-pin', soPin, '--pin', pin], { env, stdio: 'pipe' });
  const [uuid] = readdirSync(tokensDir);
  if (!uuid) throw new Error('softhsm2-util made no token directory');
  const tokenDir = join(tokensDir, uuid);
  // SoftHSM names the directory by a UUID whose last 16 hex digits are the token serial.
  const serial = uuid.replace(/-/g, '').slice(-16);
  const tool = (args: readonly string[]): void => {
    execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', options.label, ...args], { env, stdio: 'pipe' });
  };
  tool(['--login', '--pin', pin, '--keypairgen', '--key-type', PKCS11_TOOL_KEY_TYPE[options.keyType], '--id', caKeyId, '--label', 'etoken-ca test CA']);
  const publicKeyFile = join(base, 'ca-public.der');
  tool(['--read-object', '--type', 'pubkey', '--id', caKeyId, '-o', publicKeyFile]);
  const caPublicKey = createPublicKey({ key: readFileSync(publicKeyFile), format: 'der', type: 'spki' });

  const caCertPem = selfSignedCaCertificate({ conf, label: options.label, pin, caKeyId, caPublicKey });
  const caCertPath = join(base, 'ca.pem');
  writeFileSync(caCertPath, caCertPem, { mode: 0o644 });
  if (options.owner) {
    const { uid, gid } = systemUser(options.owner);
    chownTree(tokensDir, uid, gid);
  }

  return {
    conf,
    tokenDir,
    label: options.label,
    serial,
    pin,
    soPin,
    modulePath: SOFTHSM_MODULE,
    caCertPath,
    caCertPem,
    caKeyId,
    remove: () => renameSync(tokenDir, removedDir),
    restore: () => renameSync(removedDir, tokenDir),
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

interface CaSigning {
  readonly conf: string;
  readonly label: string;
  readonly pin: string;
  readonly caKeyId: string;
  readonly caPublicKey: ReturnType<typeof createPublicKey>;
}

/** /O=etoken-ca test/CN=Test CA <label>, made with the product's own CA certificate builder and signed on the token. */
function selfSignedCaCertificate(signing: CaSigning): string {
  const algorithm = signatureAlgorithm(caKeyTypeOf(signing.caPublicKey));
  const now = Math.floor(Date.now() / 1000) * 1000;
  const tbs = buildCaTbs(
    {
      subject: [
        { type: 'O', value: 'etoken-ca test' },
        { type: 'CN', value: `Test CA ${signing.label}` },
      ],
      spki: signing.caPublicKey.export({ type: 'spki', format: 'der' }),
      notBefore: now - 3600_000,
      notAfter: now + 5 * YEAR_MS,
    },
    algorithm,
  );
  const token = openPkcs11Token({
    modulePath: SOFTHSM_MODULE,
    env: { SOFTHSM2_CONF: signing.conf },
    label: signing.label,
    serial: '',
    slotIndex: 0,
    keyId: Buffer.from(signing.caKeyId, 'hex'),
    caPublicKey: signing.caPublicKey,
  });
  try {
    token.login(signing.pin);
    const der = assembleSigned(tbs, algorithm, token.sign(tbs));
    return new X509Certificate(der).toString();
  } finally {
    token.close();
  }
}
