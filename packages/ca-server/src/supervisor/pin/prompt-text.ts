/** What the operator reads on the PIN console. Lines end in \n: libuv's raw mode keeps ONLCR. */
import type { TokenInfo } from '@etoken-ca/protocol/signer-messages';

const NL = '\n';

/** Terminal-safe text: no control characters from a token label reach the console. */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
}

export function tokenFlags(token: TokenInfo): string[] {
  const flags: string[] = [];
  if (token.pinLocked) flags.push('PIN LOCKED: the token refuses every PIN until it is unlocked with the SO PIN.');
  if (token.pinFinalTry) flags.push('FINAL TRY: one more wrong PIN locks the token.');
  if (token.pinCountLow) flags.push('PIN count low: a wrong PIN was entered since the last good login.');
  return flags;
}

export function banner(token: TokenInfo, previousRejected: boolean): string {
  const lines = ['', `etoken-ca: token "${printable(token.label)}", serial ${printable(token.serial)}`];
  if (previousRejected) lines.push('The token REJECTED the last PIN.');
  lines.push(...tokenFlags(token));
  return lines.join(NL) + NL;
}

export const PIN_PROMPT = 'Token PIN (not echoed): ';
export const LOCKED_REPORT = `The PIN is not tried on a locked token. Unlock it with the SO PIN: the PIN is asked here as soon as the token reports it unlocked (at once, or once it is re-inserted).${NL}`;
export const FINAL_TRY_QUESTION = `${NL}This is the FINAL TRY: a wrong PIN locks the token. Send this PIN? [y/N] `;
export const NOT_SENT = `${NL}Not sent.${NL}`;
export const CANCELLED = `${NL}Cancelled.${NL}`;
export const EMPTY_PIN = `${NL}Empty PIN: nothing sent.${NL}`;
export const TOO_LONG = `${NL}Too long for a PIN: nothing sent.${NL}`;
export const CHECKING = `${NL}Checking the PIN with the token...${NL}`;
export const TOKEN_GONE = `${NL}The token went away: no PIN is needed now. It is asked again when the token is back.${NL}`;
export const FLAGS_CHANGED = `${NL}The token's PIN counter changed: asking again.${NL}`;
export const ACCEPTED = `PIN accepted: the CA is ready.${NL}`;
