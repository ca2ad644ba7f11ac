/**
 * The port between the signer and the CA key: one token, one logged-in
 * session. The signer only ever sees this interface; the PKCS#11 details
 * live in the adapter.
 */
import type { TokenInfo } from '../ipc.js';

export type TokenErrorKind =
  /** No token matches the configured label/serial/slot. */
  | 'not-found'
  /** A token is there but does not hold the CA certificate's public key. */
  | 'wrong-token'
  /** The token went away (or its session did): recover by starting over. */
  | 'gone'
  | 'pin-incorrect'
  | 'pin-locked'
  | 'pin-length'
  /** Anything else the token or the module refused. */
  | 'failed';

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
  /** Logs in as the user, then finds the CA private key. Throws TokenError. */
  login(pin: string): void;
  /** The CA's signature over `data`, encoded as X.509 wants it. Throws TokenError. */
  sign(data: Buffer): Buffer;
  /** Same token serial as at start, and our session still logged in. Never throws. */
  checkPresence(): PresenceCheck;
  /** Logs out and unloads the module; errors of a gone token are ignored. */
  close(): void;
}
