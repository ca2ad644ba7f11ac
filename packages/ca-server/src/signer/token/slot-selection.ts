/** Which present token is ours: by label (and serial) when configured, else by position. */
import { TokenError } from './token.js';

export interface TokenIdentity {
  readonly label: string;
  readonly serial: string;
}

export interface SlotCriteria {
  /** '' when not configured. */
  readonly label: string;
  readonly serial: string;
  /** Index among the slots with a token; used only when neither label nor serial is configured. */
  readonly slotIndex: number;
}

/** PKCS#11 pads labels and serials with blanks. */
export const cleanTokenText = (text: string): string => text.replace(/[\s\0]+$/, '');

export function selectSlot(present: readonly TokenIdentity[], criteria: SlotCriteria): number {
  if (!criteria.label && !criteria.serial) {
    if (criteria.slotIndex < present.length) return criteria.slotIndex;
    throw new TokenError('not-found', `no token in slot ${criteria.slotIndex} (${present.length} token(s) present)`);
  }
  const wanted = [criteria.label && `label "${criteria.label}"`, criteria.serial && `serial ${criteria.serial}`].filter(Boolean).join(' and ');
  const matches = present
    .map((token, index) => ({ token, index }))
    .filter(({ token }) => (!criteria.label || cleanTokenText(token.label) === criteria.label) && (!criteria.serial || cleanTokenText(token.serial) === criteria.serial));
  const [first, second] = matches;
  if (!first) throw new TokenError('not-found', `no token with ${wanted} is present`);
  if (second) throw new TokenError('not-found', `more than one token with ${wanted} is present`);
  return first.index;
}
