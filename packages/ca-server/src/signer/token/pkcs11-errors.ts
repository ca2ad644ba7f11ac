/**
 * Turns PKCS#11 return codes into TokenErrors; "gone" covers how SoftHSM and
 * real eToken drivers report a pulled token. CKR_DEVICE_ERROR is "device": a
 * smart card fails an operation with it now and then while it stays present
 * and logged in, and when it is pulled in the middle of one; whoever gets it
 * checks presence to tell which.
 */
import { TokenError, type TokenErrorKind } from './token.js';

const GONE = new Set([
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_GENERAL_ERROR',
  'CKR_OBJECT_HANDLE_INVALID',
  'CKR_KEY_HANDLE_INVALID',
  'CKR_SLOT_ID_INVALID',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
]);

const LOGIN: Readonly<Record<string, TokenErrorKind>> = {
  CKR_PIN_INCORRECT: 'pin-incorrect',
  CKR_PIN_LOCKED: 'pin-locked',
  CKR_PIN_LEN_RANGE: 'pin-length',
};

/** The CKR_ name in a pkcs11js error ("CKR_PIN_INCORRECT"), if it is one. */
export function pkcs11Code(error: unknown): string | undefined {
  const text = error instanceof Error ? `${error.message} ${error.stack ?? ''}` : String(error);
  return /\bCKR_[A-Z_]+\b/.exec(text)?.[0];
}

export function isTokenGone(code: string | undefined): boolean {
  return code !== undefined && GONE.has(code);
}

/** A TokenError for a failed call; `what` names the step (never a secret). */
export function tokenError(error: unknown, what: string): TokenError {
  if (error instanceof TokenError) return error;
  const code = pkcs11Code(error);
  const kind: TokenErrorKind = isTokenGone(code) ? 'gone' : code === 'CKR_DEVICE_ERROR' ? 'device' : code ? LOGIN[code] ?? 'failed' : 'failed';
  const detail = code ?? (error instanceof Error ? error.message : String(error));
  return new TokenError(kind, `${what}: ${detail}`);
}
