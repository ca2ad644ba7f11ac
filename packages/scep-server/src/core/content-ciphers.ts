/**
 * The content-encryption algorithms of an EnvelopedData. Single DES is
 * listed because Debian 12's scepclient (micromdm 2.1.0 on
 * go.mozilla.org/pkcs7) can send nothing else; whether it is accepted is the
 * algorithm policy's decision, and replies never use it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export type ContentCipherName = 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' | 'des-ede3-cbc' | 'des-cbc';

interface ContentCipher {
  readonly oid: string;
  readonly keyLength: number;
  readonly ivLength: number;
}

export const CONTENT_CIPHERS: Readonly<Record<ContentCipherName, ContentCipher>> = {
  'aes-128-cbc': { oid: '2.16.840.1.101.3.4.1.2', keyLength: 16, ivLength: 16 },
  'aes-192-cbc': { oid: '2.16.840.1.101.3.4.1.22', keyLength: 24, ivLength: 16 },
  'aes-256-cbc': { oid: '2.16.840.1.101.3.4.1.42', keyLength: 32, ivLength: 16 },
  'des-ede3-cbc': { oid: '1.2.840.113549.3.7', keyLength: 24, ivLength: 8 },
  'des-cbc': { oid: '1.3.14.3.2.7', keyLength: 8, ivLength: 8 },
};

export function contentCipherByOid(oid: string): ContentCipherName | undefined {
  return (Object.keys(CONTENT_CIPHERS) as ContentCipherName[]).find((name) => CONTENT_CIPHERS[name].oid === oid);
}

/** The reply answers in the client's own cipher, except that single DES is raised to AES-128. */
export function replyCipherFor(requestCipher: ContentCipherName): ContentCipherName {
  return requestCipher === 'des-cbc' ? 'aes-128-cbc' : requestCipher;
}

/** Throws on a wrong key or padding; CBC padding is PKCS#7, as in CMS. */
export function decryptContent(name: ContentCipherName, key: Buffer, iv: Buffer, ciphertext: Buffer): Buffer {
  const decipher = createDecipheriv(...opensslCipher(name, key), iv);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

export function encryptContent(name: ContentCipherName, plaintext: Buffer): { key: Buffer; iv: Buffer; ciphertext: Buffer } {
  const { keyLength, ivLength } = CONTENT_CIPHERS[name];
  const key = randomBytes(keyLength);
  const iv = randomBytes(ivLength);
  const cipher = createCipheriv(...opensslCipher(name, key), iv);
  return { key, iv, ciphertext: Buffer.concat([cipher.update(plaintext), cipher.final()]) };
}

/**
 * OpenSSL 3 keeps single DES in its legacy provider, which Node does not
 * load; DES-EDE3 with three equal keys computes exactly single DES.
 */
function opensslCipher(name: ContentCipherName, key: Buffer): [string, Buffer] {
  return name === 'des-cbc' ? ['des-ede3-cbc', Buffer.concat([key, key, key])] : [name, key];
}
