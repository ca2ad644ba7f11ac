/**
 * RSAES-PKCS1-v1_5 key transport, the only kind SCEP clients use. Node
 * refuses PKCS#1 v1.5 private decryption (CVE-2023-46809, the Marvin attack)
 * and WebCrypto never offered it, so the padding is checked here after a raw
 * RSA operation, without branching on secret bytes. A bad padding yields a
 * random key of the expected length (RFC 3218 §2.3.2): such a request then
 * fails where a wrong key fails, at content decryption, with the same
 * failInfo, and tells a prober nothing about the padding.
 */
import { constants, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';

/** 00 02, at least eight non-zero padding bytes, 00. */
const MIN_PADDING_BYTES = 11;

export function unwrapContentKey(privateKey: KeyObject, encryptedKey: Buffer, keyLength: number): Buffer {
  const modulusBytes = Math.ceil((privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  const substitute = randomBytes(keyLength);
  if (encryptedKey.length !== modulusBytes || modulusBytes < keyLength + MIN_PADDING_BYTES) return substitute;
  let block: Buffer;
  try {
    block = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, encryptedKey);
  } catch {
    return substitute;
  }
  const separator = block.length - keyLength - 1;
  let bad = block[0]! | (block[1]! ^ 0x02) | block[separator]!;
  for (let i = 2; i < separator; i++) bad |= (block[i]! - 1) >>> 31;
  const keepSubstitute = -((bad | -bad) >>> 31) & 0xff;
  const key = Buffer.alloc(keyLength);
  for (let i = 0; i < keyLength; i++) key[i] = (substitute[i]! & keepSubstitute) | (block[separator + 1 + i]! & ~keepSubstitute);
  return key;
}

export function wrapContentKey(publicKey: KeyObject, key: Buffer): Buffer {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, key);
}
