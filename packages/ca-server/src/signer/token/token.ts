/**
 * The port between the signer and the CA key: one token, one logged-in
 * session. The signer only ever sees this interface; the PKCS#11 details
 * live in the adapter.
 */
import type { TokenErrorKind } from '@etoken-ca/protocol/probe-messages';
import type { TokenInfo } from '@etoken-ca/protocol/signer-messages';

export type { TokenErrorKind };

export class TokenError extends Error {
  override readonly name = 'TokenError';
  constructor(
    readonly kind: TokenErrorKind,
    message: string,
  ) {
    super(message.replace(/[\r\n]+/g, ' '));
  }
}

export interface PresenceCheck {
  readonly ok: boolean;
  readonly reason?: string;
}

export interface Token {
  /** Read before login; the supervisor shows it when asking for the PIN. */
  readonly info: TokenInfo;
  /** The token's facts read again now (the PIN flags move with every login tried). Throws TokenError. */
  currentInfo(): TokenInfo;
  /** Logs in as the user, then finds the CA private key. Throws TokenError. */
  login(pin: string): void;
  /** The CA's signature over `data`, encoded as X.509 wants it. Throws TokenError. */
  sign(data: Buffer): Buffer;
  /** Same token serial as at start, and our session still open (and logged in, once `login` succeeded). Never throws. */
  checkPresence(): PresenceCheck;
  /** Logs out and unloads the module; errors of a gone token are ignored. */
  close(): void;
}
