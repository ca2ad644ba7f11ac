/**
 * Messages between the supervisor and its two workers, one JSON object per
 * line on the worker's stdin/stdout (small binary fields in base64). The PIN never
 * travels here: it goes to the signer over its own pipe (fd 3).
 */
import type { Rdn } from '@etoken-ca/contract/dn';

/** supervisor -> parser */
export interface ParseRequest {
  readonly type: 'parse';
  readonly id: string;
  /** The spool file's bytes, base64. */
  readonly data: string;
}

/** What the parser makes of a request: plain fields, nothing left to parse. */
export interface ParsedRequest {
  readonly subject: readonly Rdn[];
  readonly emails: readonly string[];
  readonly proxyLifetime: number;
  readonly maxCertLifetime: number;
  /** SubjectPublicKeyInfo DER, base64, as re-exported by Node (canonical). */
  readonly spki: string;
  readonly keyType: 'rsa' | 'ec';
  /** RSA modulus bits, or the curve's size for EC. */
  readonly keyBits: number;
  readonly rsaExponent?: number;
  readonly curve?: 'P-256' | 'P-384' | 'P-521';
  /** The hash of the CSR's signature algorithm, e.g. sha256. */
  readonly csrHash: string;
}

/** parser -> supervisor */
export type ParseResult =
  | { readonly type: 'parsed'; readonly id: string; readonly fields: ParsedRequest }
  | { readonly type: 'refused'; readonly id: string; readonly reason: string };

/** supervisor -> signer: a certificate to build from the fixed template and sign. */
export interface SignCertRequest {
  readonly type: 'sign-cert';
  readonly id: string;
  readonly serial: string;
  readonly subject: readonly Rdn[];
  readonly emails: readonly string[];
  readonly spki: string;
  /** Milliseconds since the epoch (whole seconds). */
  readonly notBefore: number;
  readonly notAfter: number;
}

/** supervisor -> signer: a presence check (same token serial, session still logged in). */
export interface CheckRequest {
  readonly type: 'check';
  readonly id: string;
}

/**
 * supervisor -> signer: a TBSCertList to sign, built by the supervisor from
 * the database (it keeps every revoked entry's DER); the signer checks it is
 * a CRL of this CA and answers only the signature. On the pipe the line
 * carries `bytes` instead of `tbs`, and the TBSCertList's own bytes follow it
 * (5 MB for 100,000 entries: base64 inside JSON would cost more than the rest
 * of the CRL path together).
 */
export interface SignCrlRequest {
  readonly type: 'sign-crl';
  readonly id: string;
  /** TBSCertList DER. */
  readonly tbs: Buffer;
}

export type SignerRequest = SignCertRequest | SignCrlRequest | CheckRequest;

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
  /** Login refused; the signer exits after this. `pinIncorrect` when the token said CKR_PIN_INCORRECT. */
  | { readonly type: 'login-failed'; readonly reason: string; readonly pinIncorrect: boolean; readonly pinLocked: boolean }
  /** The signer cannot use the token (wrong token, no key, gone); it exits after this. */
  | { readonly type: 'fatal'; readonly reason: string; readonly tokenGone: boolean }
  /** `tokenOk`: the check right after signing passed (same serial, session still logged in). */
  | { readonly type: 'cert'; readonly id: string; readonly der: string; readonly tokenOk: boolean }
  /** The signature over a SignCrlRequest's TBSCertList, already verified with the CA public key. */
  | { readonly type: 'crl'; readonly id: string; readonly signature: string; readonly tokenOk: boolean }
  | { readonly type: 'check'; readonly id: string; readonly ok: boolean; readonly reason?: string }
  /** This one request failed; `tokenGone` when the token error means it is gone. */
  | { readonly type: 'error'; readonly id: string; readonly reason: string; readonly tokenGone: boolean };
