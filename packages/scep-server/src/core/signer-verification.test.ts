/** Signatures made by OpenSSL, in the BER form its streaming output takes. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTestPki, pem, type TestPki } from '../testing/openssl-pki.js';
import { STRONG_ALGORITHMS } from './algorithm-policy.js';
import { ScepError } from './fail-info.js';
import { openSignedData } from './signed-data-opener.js';
import { verifySigner } from './signer-verification.js';

// openssl makes keys here: seconds on a busy machine.
vi.setConfig({ testTimeout: 30_000, hookTimeout: 60_000 });

let pki: TestPki;
let content: Buffer;
let streamed: Buffer;

beforeAll(() => {
  pki = makeTestPki();
  content = randomBytes(3000);
  const signer = pki.otherRa();
  writeFileSync(join(pki.dir, 'signer.pem'), pem('CERTIFICATE', signer.certificate));
  writeFileSync(join(pki.dir, 'signer.key'), signer.keyPem);
  streamed = execFileSync('openssl', ['cms', '-sign', '-binary', '-stream', '-nodetach', '-outform', 'DER', '-signer', 'signer.pem', '-inkey', 'signer.key'], { cwd: pki.dir, input: content });
});

afterAll(() => pki.remove());

describe('a SignedData in BER, its content cut into a constructed OCTET STRING', () => {
  it('is read and its signature verified', () => {
    expect(streamed[1]).toBe(0x80);
    const opened = openSignedData(streamed);
    expect(opened.content).toEqual(content);
    expect(verifySigner(opened, STRONG_ALGORITHMS)).toMatchObject({ digest: 'sha256', selfSigned: false });
  });

  it('is refused with badMessageCheck once a content byte changes', () => {
    const tampered = Buffer.from(streamed);
    tampered[tampered.indexOf(content.subarray(0, 32)) + 100]! ^= 0x01;
    let failure: unknown;
    try {
      verifySigner(openSignedData(tampered), STRONG_ALGORITHMS);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(ScepError);
    expect(failure).toMatchObject({ failInfo: 'badMessageCheck' });
  });
});
