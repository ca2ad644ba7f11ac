/** The token probe's one answer to the self-audit: the token found, or why not. */
import { MessageFields, MAX_REASON } from './fields.js';
import { encodeFrame, type Frame } from './frames.js';
import { ProtocolViolation } from './violation.js';

export const TOKEN_ERROR_KINDS = [
  /** No token matches the configured label/serial/slot. */
  'not-found',
  /** A token is there but does not hold the CA certificate's public key. */
  'wrong-token',
  /** The token went away (or its session did): recover by starting over. */
  'gone',
  /** The token failed one operation (CKR_DEVICE_ERROR); it may still be there and logged in. */
  'device',
  'pin-incorrect',
  'pin-locked',
  'pin-length',
  /** Anything else the token or the module refused. */
  'failed',
] as const;
export type TokenErrorKind = (typeof TOKEN_ERROR_KINDS)[number];

export type ProbeAnswer =
  | { readonly ok: true; readonly label: string; readonly serial: string }
  | { readonly ok: false; readonly kind: TokenErrorKind | 'setup'; readonly reason: string };

export function encodeProbeAnswer(answer: ProbeAnswer): Buffer[] {
  return encodeFrame({ type: 'probe', ...answer });
}

export function readProbeAnswer(frame: Frame): ProbeAnswer {
  if (frame.message.type !== 'probe') throw new ProtocolViolation('not a probe answer');
  if (frame.message.ok === true) {
    const f = new MessageFields(frame.message, 'probe answer', ['ok', 'label', 'serial']);
    f.none(frame.payload);
    return { ok: true, label: f.string('label', 64), serial: f.string('serial', 64) };
  }
  const f = new MessageFields(frame.message, 'probe answer', ['ok', 'kind', 'reason']);
  f.none(frame.payload);
  if (frame.message.ok !== false) f.fail('has no boolean ok');
  const kind = f.string('kind', 20);
  if (kind !== 'setup' && !(TOKEN_ERROR_KINDS as readonly string[]).includes(kind)) f.fail('has an unknown kind');
  return { ok: false, kind: kind as TokenErrorKind | 'setup', reason: f.string('reason', MAX_REASON) };
}
