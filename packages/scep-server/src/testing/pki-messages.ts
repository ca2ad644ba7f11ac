/**
 * PKIOperation messages made in the tests, for what real clients never
 * send: a CSR of any subject and names, enveloped to any certificate in any
 * cipher, signed by any certificate with any key, with any messageType,
 * transactionID and nonce. Built with the core's own CMS writers and
 * OpenSSL's CSRs and certificates, so that what is wrong is only what the
 * test asks for.
 */
import { Attribute } from '@peculiar/asn1-cms';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { octetStringValue, printableStringValue } from '../core/attribute-values.js';
import type { ContentCipherName } from '../core/content-ciphers.js';
import { sealEnvelope } from '../core/envelope-sealer.js';
import { raCredentials } from '../core/ra-credentials.js';
import { ID_MESSAGE_TYPE, ID_SENDER_NONCE, ID_TRANSACTION_ID } from '../core/scep-oids.js';
import { signByRa } from '../core/signed-data-writer.js';

export interface ClientIdentity {
  readonly key: KeyObject;
  readonly keyPem: string;
  /** The certificate the message is signed with: self-signed for a first enrollment. */
  readonly certificate: Buffer;
}

function withDir<T>(work: (dir: string, openssl: (...args: string[]) => void) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'scep-message-'));
  try {
    return work(dir, (...args) => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const DER = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

/** An RSA key and a self-signed certificate for `subject` (slash form). */
export function selfSignedIdentity(subject: string): ClientIdentity {
  return withDir((dir, openssl) => {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1', '-subj', subject);
    const keyPem = readFileSync(join(dir, 'k.pem'), 'utf8');
    return { key: createPrivateKey(keyPem), keyPem, certificate: DER(readFileSync(join(dir, 'c.pem'), 'utf8')) };
  });
}

/** The same key certified by someone else: an issued certificate's DER, or a forged one. */
export function withCertificate(identity: ClientIdentity, certificate: Buffer): ClientIdentity {
  return { ...identity, certificate };
}

/** A PKCS#10 request with the identity's key. */
export function csrOf(identity: ClientIdentity, subject: string, options: { challenge?: string; dnsNames?: readonly string[]; ipAddresses?: readonly string[] } = {}): Buffer {
  return withDir((dir, openssl) => {
    // The subject goes into the config, not -subj: with -subj OpenSSL leaves the attributes section out.
    const rdns = subject.split('/').filter(Boolean).map((rdn, i) => `${i}.${rdn.slice(0, rdn.indexOf('='))} = ${rdn.slice(rdn.indexOf('=') + 1)}`);
    const config = ['[req]', 'distinguished_name = dn', 'attributes = attrs', 'prompt = no', '[dn]', ...rdns, '[attrs]'];
    if (options.challenge !== undefined) config.push(`challengePassword = ${options.challenge}`);
    const names = [...(options.dnsNames ?? []).map((n) => `DNS:${n}`), ...(options.ipAddresses ?? []).map((a) => `IP:${a}`)];
    execFileSync('sh', ['-c', `cat > ${join(dir, 'req.cnf')}`], { input: `${config.join('\n')}\n` });
    execFileSync('sh', ['-c', `cat > ${join(dir, 'k.pem')}`], { input: identity.keyPem });
    const args = ['req', '-new', '-key', 'k.pem', '-config', 'req.cnf', '-outform', 'DER', '-out', 'r.der'];
    if (names.length > 0) args.push('-addext', `subjectAltName=${names.join(',')}`);
    openssl(...args);
    return readFileSync(join(dir, 'r.der'));
  });
}

export interface MessageOptions {
  /** PKCSReq 19, RenewalReq 17, CertPoll 20, GetCert 21, GetCRL 22, CertRep 3 (never a request). */
  readonly messageType: string;
  readonly transactionId: string;
  readonly senderNonce?: Buffer;
  /** The certificate the envelope is for (the RA's, or another). */
  readonly recipient: Buffer;
  readonly cipher?: ContentCipherName;
}

/** A pkiMessage: `content` enveloped to `recipient`, signed by the identity. */
export function pkiMessage(identity: ClientIdentity, content: Buffer, options: MessageOptions): Buffer {
  const envelope = sealEnvelope(content, options.recipient, options.cipher ?? 'aes-256-cbc');
  const attributes = [
    new Attribute({ attrType: ID_MESSAGE_TYPE, attrValues: [printableStringValue(options.messageType)] }),
    new Attribute({ attrType: ID_TRANSACTION_ID, attrValues: [printableStringValue(options.transactionId)] }),
    new Attribute({ attrType: ID_SENDER_NONCE, attrValues: [octetStringValue(options.senderNonce ?? randomBytes(16))] }),
  ];
  return signByRa(envelope, attributes, raCredentials(identity.certificate, identity.key));
}

/**
 * A forgery: a certificate for the identity's key with `subject` and the
 * serial of a real one, "issued" by a CA of the same name as the real CA,
 * whose key is not the real CA's.
 */
export function forgedCertificate(identity: ClientIdentity, subject: string, serialHex: string, caSubject: string): Buffer {
  return withDir((dir, openssl) => {
    execFileSync('sh', ['-c', `cat > ${join(dir, 'k.pem')}`], { input: identity.keyPem });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'fake-ca.key', '-out', 'fake-ca.pem', '-days', '1', '-subj', caSubject);
    openssl('req', '-new', '-key', 'k.pem', '-out', 'r.csr', '-subj', subject);
    openssl('x509', '-req', '-in', 'r.csr', '-CA', 'fake-ca.pem', '-CAkey', 'fake-ca.key', '-set_serial', `0x${serialHex}`, '-days', '1', '-out', 'c.pem');
    return DER(readFileSync(join(dir, 'c.pem'), 'utf8'));
  });
}
