/** Where the PIN comes from: the console, or a descriptor in automation. */
import type { TokenInfo } from '@etoken-ca/protocol/signer-messages';

export interface PinSource {
  /**
   * Asks for the PIN of this token; null when none can be had now. Never called again automatically after a
   * rejection unless the source is interactive. `cancelled` fires when the token went away meanwhile.
   */
  ask(token: TokenInfo, previousRejected: boolean, cancelled: AbortSignal): Promise<Buffer | null>;
  /** The token accepted the PIN last given (a real login): an interactive source tells its operator. */
  accepted?(token: TokenInfo): void;
}
