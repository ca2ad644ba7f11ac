/** Where the PIN comes from: the console, or a descriptor in automation. */
import type { TokenInfo } from '@etoken-ca/protocol/signer-messages';

export interface PinSource {
  /**
   * Asks for the PIN of this token; null when none can be had now. Never called again automatically after a
   * rejection unless the source is interactive. `cancelled` fires when the token went away meanwhile
   * (reason 'gone') or its PIN flags changed (reason 'changed': it is asked again with the new flags).
   */
  ask(token: TokenInfo, previousRejected: boolean, cancelled: AbortSignal): Promise<Buffer | null>;
  /** The token's PIN is locked: no PIN is asked for until it is unlocked. An interactive source tells its operator. */
  locked?(token: TokenInfo): void;
  /** The token accepted the PIN last given (a real login): an interactive source tells its operator. */
  accepted?(token: TokenInfo): void;
}
