/**
 * The one login of a signer process (and of the token self-test): the PIN
 * read once from its pipe, tried only on the token it was asked for and only
 * as the operator saw the token's counter, then wiped. A rejected PIN is
 * never retried; a PIN not tried says why. The PKCS#11 binding takes the PIN
 * only as a JS string, which cannot be wiped: it lives for the one call.
 */
import { ExitCode } from '@etoken-ca/contract/core/exit-codes';
import type { LoginRequest, SignerEvent } from '@etoken-ca/protocol/signer-messages';
import { TokenError, type Token } from './token/token.js';

export type LoginResult = { readonly ok: true } | { readonly ok: false; readonly event: SignerEvent; readonly exitCode: number };

/** Why the PIN must not be tried now, or null: the token must be the one it was asked for, its counter as the operator saw it. */
function loginRefusal(token: Token, request: LoginRequest): { reason: string; gone: boolean; locked?: boolean } | null {
  const presence = token.checkPresence();
  if (!presence.ok) return { reason: `token check before the login failed: ${presence.reason ?? ''}`, gone: true };
  let now;
  try {
    now = token.currentInfo();
  } catch (e) {
    return { reason: (e as Error).message, gone: true };
  }
  if (now.serial !== request.serial || now.serial !== token.info.serial) return { reason: `token serial is now ${now.serial}, not ${request.serial}`, gone: true };
  if (now.pinLocked) return { reason: 'the PIN is locked: not tried', gone: false, locked: true };
  if (now.pinFinalTry && !request.finalTryConfirmed) return { reason: 'the token is now at its final PIN try, which the operator did not confirm: not tried', gone: false };
  return null;
}

const gone = (reason: string): LoginResult => ({ ok: false, event: { type: 'fatal', reason, tokenGone: true }, exitCode: ExitCode.unavailable });

export function logInWithPin(token: Token, request: LoginRequest, readPin: () => Buffer): LoginResult {
  let pin: Buffer = Buffer.alloc(0);
  let failure: TokenError | undefined;
  try {
    pin = readPin();
    const refusal = loginRefusal(token, request);
    if (refusal?.gone) return gone(refusal.reason);
    if (refusal) {
      const event: SignerEvent = { type: 'login-failed', reason: refusal.reason, pinIncorrect: false, pinLocked: refusal.locked === true, notTried: true };
      return { ok: false, event, exitCode: ExitCode.noPermission };
    }
    let end = pin.length;
    if (pin[end - 1] === 0x0a) end--;
    if (pin[end - 1] === 0x0d) end--;
    if (end === 0) throw new TokenError('pin-length', 'empty PIN');
    token.login(pin.toString('utf8', 0, end));
    return { ok: true };
  } catch (e) {
    failure = e instanceof TokenError ? e : new TokenError('failed', `reading the PIN: ${(e as Error).message}`);
  } finally {
    pin.fill(0);
  }
  // A token that went away during the login did not judge the PIN.
  if (failure.kind === 'gone' || failure.kind === 'device') return gone(`login: ${failure.message}`);
  const event: SignerEvent = { type: 'login-failed', reason: failure.message, pinIncorrect: failure.kind === 'pin-incorrect', pinLocked: failure.kind === 'pin-locked' };
  return { ok: false, event, exitCode: ExitCode.noPermission };
}
