import { constants, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { unwrapContentKey, wrapContentKey } from './rsa-key-transport.js';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = Buffer.alloc(16, 0x5a);

/** An RSA block with the given PKCS#1 v1.5 layout, encrypted raw. */
function rawBlock(layout: (block: Buffer) => void): Buffer {
  const block = Buffer.alloc(256, 0x11);
  block[0] = 0x00;
  block[1] = 0x02;
  block[256 - 17] = 0x00;
  key.copy(block, 256 - 16);
  layout(block);
  return publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, block);
}

describe('RSA PKCS#1 v1.5 key transport', () => {
  it('gives back the key that was wrapped', () => {
    expect(unwrapContentKey(privateKey, wrapContentKey(publicKey, key), 16)).toEqual(key);
    expect(unwrapContentKey(privateKey, rawBlock(() => undefined), 16)).toEqual(key);
  });

  it.each([
    ['a wrong block type', (block: Buffer) => void (block[1] = 0x01)],
    ['a non-zero first byte', (block: Buffer) => void (block[0] = 0x01)],
    ['no separator before the key', (block: Buffer) => void (block[256 - 17] = 0x01)],
    ['a zero inside the padding', (block: Buffer) => void (block[5] = 0x00)],
  ])('answers %s with a random key of the expected length, not with an error', (_, layout) => {
    const unwrapped = unwrapContentKey(privateKey, rawBlock(layout), 16);
    expect(unwrapped).toHaveLength(16);
    expect(unwrapped).not.toEqual(key);
  });

  it('answers a key of another length, or a ciphertext of the wrong size, the same way', () => {
    expect(unwrapContentKey(privateKey, wrapContentKey(publicKey, key), 32)).toHaveLength(32);
    expect(unwrapContentKey(privateKey, Buffer.alloc(10), 16)).toHaveLength(16);
    expect(unwrapContentKey(privateKey, Buffer.alloc(256, 0xff), 16)).toHaveLength(16);
  });
});
