/**
 * The limit: signatures per second on the same SoftHSM token through
 * graphene-pk11, one session, as the signer makes them (RSA-2048 with
 * CKM_SHA256_RSA_PKCS; EC P-256 hashed in-process, then CKM_ECDSA).
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openPkcs11Token } from '../../../packages/ca-server/dist/signer/token/graphene-token.js';
import type { TestToken } from '../../../test/helpers/softhsm.js';
import { nowMs } from '../stats.js';

/** About the size of a certificate's TBS. */
const TBS_BYTES = 1200;

/** Through another module in front of the token (the smart-card test module), with its environment. */
export interface ModuleInFront {
  readonly modulePath: string;
  readonly env: Readonly<Record<string, string>>;
}

export function rawSigningRate(token: TestToken, durationMs: number, module?: ModuleInFront): number {
  const caPublicKey = createPublicKey(readFileSync(token.caCertPath));
  const session = openPkcs11Token({
    modulePath: module?.modulePath ?? token.modulePath,
    env: module?.env ?? { SOFTHSM2_CONF: token.conf },
    label: token.label,
    serial: '',
    slotIndex: 0,
    keyId: Buffer.from(token.caKeyId, 'hex'),
    caPublicKey,
  });
  try {
    session.login(token.pin);
    const data = Buffer.alloc(TBS_BYTES, 0x5a);
    session.sign(data);
    let signatures = 0;
    const start = nowMs();
    while (nowMs() - start < durationMs) {
      session.sign(data);
      signatures++;
    }
    return (signatures * 1000) / (nowMs() - start);
  } finally {
    session.close();
  }
}
