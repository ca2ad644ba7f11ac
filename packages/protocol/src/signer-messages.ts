/**
 * The supervisor and the signer: certificates and CRLs to sign, presence
 * checks, and what the signer says about its token. The PIN never travels
 * here (it has its own pipe). The signer checks every request it is sent;
 * the supervisor checks every event it gets back, and what a signed
 * certificate or CRL contains (see the supervisor's answer checks).
 */
import type { CertificateContent } from '@etoken-ca/x509/template';
import { idOf, MessageFields, MAX_REASON } from './fields.js';
import { encodeFrame, type Frame } from './frames.js';
import { readScepNames } from './scep-names-field.js';
import { ProtocolViolation } from './violation.js';

/** supervisor -> signer: a certificate to build from the fixed template and sign. */
export interface SignCertRequest {
  readonly type: 'sign-cert';
  readonly id: string;
  readonly content: CertificateContent;
}

/**
 * supervisor -> signer: a TBSCertList to sign, built by the supervisor from
 * the database; the signer checks it is a CRL of this CA and answers only
 * the signature. Its bytes follow the line.
 */
export interface SignCrlRequest {
  readonly type: 'sign-crl';
  readonly id: string;
  readonly tbs: Buffer;
}

/**
 * supervisor -> signer: a presence check (same token serial, our session still
 * open, and logged in once the signer is ready). Before the login it is
 * answered with the token's current facts, PIN flags included.
 */
export interface CheckRequest {
  readonly type: 'check';
  readonly id: string;
}

/**
 * supervisor -> signer, once, after the token event: log in with the PIN that
 * is waiting on the PIN pipe. `serial` is the token the PIN was asked for;
 * `finalTryConfirmed` says the operator confirmed a final try. The signer
 * checks both against the token right before the login and does not try when
 * they no longer hold (another token, a counter that moved, a locked PIN).
 */
export interface LoginRequest {
  readonly type: 'login';
  readonly serial: string;
  readonly finalTryConfirmed: boolean;
}

export type SignerRequest = SignCertRequest | SignCrlRequest | CheckRequest | LoginRequest;

/** Token facts shown before the PIN is asked (readable without login). */
export interface TokenInfo {
  readonly label: string;
  readonly serial: string;
  readonly slot: number;
  readonly pinCountLow: boolean;
  readonly pinFinalTry: boolean;
  readonly pinLocked: boolean;
}

/** signer -> supervisor */
export type SignerEvent =
  /** Token found and its CA public key matches the CA certificate: send the PIN. */
  | { readonly type: 'token'; readonly token: TokenInfo }
  /** Logged in; ready for requests. */
  | { readonly type: 'ready' }
  /**
   * Login refused; the signer exits after this. `pinIncorrect` when the token said CKR_PIN_INCORRECT.
   * `notTried`: the PIN never reached the token (its counter had moved to a final try nobody confirmed, or to locked).
   */
  | { readonly type: 'login-failed'; readonly reason: string; readonly pinIncorrect: boolean; readonly pinLocked: boolean; readonly notTried?: boolean }
  /** The signer cannot use the token (wrong token, no key, gone); it exits after this. */
  | { readonly type: 'fatal'; readonly reason: string; readonly tokenGone: boolean }
  /**
   * `tokenOk`: the check right after signing passed (same serial, session still logged in). The DER follows the
   * line. `tokenUs`: how long the token took over the signature, in microseconds (what the supervisor plans with).
   */
  | { readonly type: 'cert'; readonly id: string; readonly der: Buffer; readonly tokenOk: boolean; readonly tokenUs?: number }
  /** The signature over a SignCrlRequest's TBSCertList. */
  | { readonly type: 'crl'; readonly id: string; readonly signature: Buffer; readonly tokenOk: boolean; readonly tokenUs?: number }
  /** `token`: the token's current facts, given before the login. */
  | { readonly type: 'check'; readonly id: string; readonly ok: boolean; readonly reason?: string; readonly token?: TokenInfo }
  /**
   * This one request failed; `tokenGone` when the token error means it is gone; `deviceError` when the
   * token failed the operation (CKR_DEVICE_ERROR) but is still there, logged in: no signature came out.
   */
  | { readonly type: 'error'; readonly id: string; readonly reason: string; readonly tokenGone: boolean; readonly deviceError?: boolean }
  /**
   * Requests `ids` go to the token now, in this order: sent before the signer starts on a batch of signing
   * requests (on a slow token, one request at a time), so that the supervisor knows which requests a signer
   * it has to stop may have signed (these and those before them) and which it never started (those after).
   */
  | { readonly type: 'signing'; readonly ids: readonly string[] }
  /** --token-selftest: `signatures` made in `totalUs` microseconds, the slowest taking `slowestUs`. */
  | { readonly type: 'timed'; readonly signatures: number; readonly totalUs: number; readonly slowestUs: number };

/** Requests the signer takes up at once, at most. */
export const MAX_SIGNING_BATCH = 16;
/** A CRL of 100,000 entries is about 5 MB of TBSCertList. */
export const MAX_CRL_TBS = 64 << 20;
const MAX_CERTIFICATE = 16 * 1024;
const MAX_SIGNATURE = 1024;
const MAX_SPKI = 4096;
const MAX_EMAILS = 8;
const MAX_EMAIL = 254;
const MAX_TOKEN_TEXT = 64;

export function encodeSignerRequest(request: SignerRequest): Buffer[] {
  switch (request.type) {
    case 'check':
    case 'login':
      return encodeFrame({ ...request });
    case 'sign-crl':
      return encodeFrame({ type: request.type, id: request.id }, request.tbs);
    case 'sign-cert': {
      const { spki, ...content } = request.content;
      return encodeFrame({ type: request.type, id: request.id, ...content, spki: spki.toString('base64') });
    }
  }
}

export function readSignerRequest(frame: Frame): SignerRequest {
  const { type } = frame.message;
  switch (type) {
    case 'check': {
      const f = new MessageFields(frame.message, 'check request', ['id']);
      f.none(frame.payload);
      return { type, id: f.requestId() };
    }
    case 'login': {
      const f = new MessageFields(frame.message, 'login request', ['serial', 'finalTryConfirmed']);
      f.none(frame.payload);
      return { type, serial: f.string('serial', MAX_TOKEN_TEXT), finalTryConfirmed: f.boolean('finalTryConfirmed') };
    }
    case 'sign-crl': {
      const f = new MessageFields(frame.message, 'CRL request', ['id']);
      return { type, id: f.requestId(), tbs: f.payload(frame.payload, MAX_CRL_TBS) };
    }
    case 'sign-cert': {
      const f = new MessageFields(frame.message, 'certificate request', ['id', 'serial', 'subject', 'emails', 'spki', 'notBefore', 'notAfter', 'scep']);
      const scep = readScepNames(f, frame.message.scep);
      f.none(frame.payload);
      const time = (key: string): number => f.integer(key, 0, 253402300799000);
      return {
        type,
        id: f.requestId(),
        content: {
          serial: f.string('serial', 42),
          subject: f.rdns('subject'),
          emails: f.list('emails', MAX_EMAILS, (v) => (typeof v === 'string' && v.length > 0 && v.length <= MAX_EMAIL ? v : undefined)),
          spki: f.base64('spki', MAX_SPKI),
          notBefore: time('notBefore'),
          notAfter: time('notAfter'),
          ...(scep ? { scep } : {}),
        },
      };
    }
    default:
      throw new ProtocolViolation('unknown request type', idOf(frame.message));
  }
}

export function encodeSignerEvent(event: SignerEvent): Buffer[] {
  switch (event.type) {
    case 'cert':
      return encodeFrame({ type: event.type, id: event.id, tokenOk: event.tokenOk, ...(event.tokenUs === undefined ? {} : { tokenUs: event.tokenUs }) }, event.der);
    case 'crl':
      return encodeFrame({ ...event, signature: event.signature.toString('base64') });
    default:
      return encodeFrame({ ...event });
  }
}

function readTokenInfo(value: unknown, fail: (why: string) => never): TokenInfo {
  if (typeof value !== 'object' || value === null) return fail('has no token object');
  const f = new MessageFields(value as Record<string, unknown>, 'token info', ['label', 'serial', 'slot', 'pinCountLow', 'pinFinalTry', 'pinLocked']);
  return {
    label: f.string('label', MAX_TOKEN_TEXT),
    serial: f.string('serial', MAX_TOKEN_TEXT),
    slot: f.integer('slot', 0, 2 ** 32 - 1),
    pinCountLow: f.boolean('pinCountLow'),
    pinFinalTry: f.boolean('pinFinalTry'),
    pinLocked: f.boolean('pinLocked'),
  };
}

/** A token time of up to an hour, when given. */
function optionalTokenUs(f: MessageFields): { tokenUs?: number } {
  const tokenUs = f.optionalInteger('tokenUs', 0, 3_600_000_000);
  return tokenUs === undefined ? {} : { tokenUs };
}

export function readSignerEvent(frame: Frame): SignerEvent {
  const { type } = frame.message;
  const fields = (what: string, keys: readonly string[], payload = false): MessageFields => {
    const f = new MessageFields(frame.message, what, keys);
    if (!payload) f.none(frame.payload);
    return f;
  };
  switch (type) {
    case 'token': {
      const f = fields('token event', ['token']);
      return { type, token: readTokenInfo(frame.message.token, (why) => f.fail(why)) };
    }
    case 'ready':
      fields('ready event', []);
      return { type };
    case 'login-failed': {
      const f = fields('login event', ['reason', 'pinIncorrect', 'pinLocked', 'notTried']);
      const notTried = f.optionalBoolean('notTried');
      return {
        type,
        reason: f.string('reason', MAX_REASON),
        pinIncorrect: f.boolean('pinIncorrect'),
        pinLocked: f.boolean('pinLocked'),
        ...(notTried === undefined ? {} : { notTried }),
      };
    }
    case 'fatal': {
      const f = fields('fatal event', ['reason', 'tokenGone']);
      return { type, reason: f.string('reason', MAX_REASON), tokenGone: f.boolean('tokenGone') };
    }
    case 'cert': {
      const f = fields('certificate', ['id', 'tokenOk', 'tokenUs'], true);
      const tokenUs = optionalTokenUs(f);
      return { type, id: f.requestId(), der: f.payload(frame.payload, MAX_CERTIFICATE), tokenOk: f.boolean('tokenOk'), ...tokenUs };
    }
    case 'crl': {
      const f = fields('CRL signature', ['id', 'signature', 'tokenOk', 'tokenUs']);
      const tokenUs = optionalTokenUs(f);
      return { type, id: f.requestId(), signature: f.base64('signature', MAX_SIGNATURE), tokenOk: f.boolean('tokenOk'), ...tokenUs };
    }
    case 'check': {
      const f = fields('check answer', ['id', 'ok', 'reason', 'token']);
      const reason = f.optionalString('reason', MAX_REASON);
      const token = frame.message.token === undefined ? undefined : readTokenInfo(frame.message.token, (why) => f.fail(why));
      return { type, id: f.requestId(), ok: f.boolean('ok'), ...(reason === undefined ? {} : { reason }), ...(token === undefined ? {} : { token }) };
    }
    case 'error': {
      const f = fields('error', ['id', 'reason', 'tokenGone', 'deviceError']);
      const deviceError = f.optionalBoolean('deviceError');
      return { type, id: f.requestId(), reason: f.string('reason', MAX_REASON), tokenGone: f.boolean('tokenGone'), ...(deviceError === undefined ? {} : { deviceError }) };
    }
    case 'signing': {
      const f = fields('signing notice', ['ids']);
      return { type, ids: f.list('ids', MAX_SIGNING_BATCH, (v) => (typeof v === 'string' ? idOf({ id: v }) : undefined)) };
    }
    case 'timed': {
      const f = fields('self-test timing', ['signatures', 'totalUs', 'slowestUs']);
      const us = (key: string): number => f.integer(key, 0, 3_600_000_000);
      return { type, signatures: f.integer('signatures', 1, 1000), totalUs: us('totalUs'), slowestUs: us('slowestUs') };
    }
    default:
      throw new ProtocolViolation('signer sent an unknown message', idOf(frame.message));
  }
}
