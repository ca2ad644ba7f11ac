/**
 * Which digests and content ciphers a request may use. The default admits
 * only SHA-2 and AES. LEGACY_ALGORITHMS also admits SHA-1, triple DES and
 * single DES: Debian 12's scepclient signs with SHA-1 and envelopes with
 * single DES (56-bit: whoever records the request can recover the challenge
 * password), so admitting it is an operator's explicit choice.
 */
import type { ContentCipherName } from './content-ciphers.js';
import type { DigestName } from './digest-algorithms.js';

export interface AlgorithmPolicy {
  readonly digests: ReadonlySet<DigestName>;
  readonly contentCiphers: ReadonlySet<ContentCipherName>;
}

export const STRONG_ALGORITHMS: AlgorithmPolicy = {
  digests: new Set(['sha256', 'sha384', 'sha512']),
  contentCiphers: new Set(['aes-128-cbc', 'aes-192-cbc', 'aes-256-cbc']),
};

export const LEGACY_ALGORITHMS: AlgorithmPolicy = {
  digests: new Set([...STRONG_ALGORITHMS.digests, 'sha1']),
  contentCiphers: new Set([...STRONG_ALGORITHMS.contentCiphers, 'des-ede3-cbc', 'des-cbc']),
};
