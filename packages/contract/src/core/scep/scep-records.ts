/**
 * The SCEP enrollment workflows and one-time challenges, as journal
 * records (`t: "scep"`). They go into the CA's one journal with the
 * certificates they lead to, flushed before any answer, so a workflow
 * survives the restart of every process. A checkpoint carries the live
 * ones over into the new segment (see ScepBook.carryOver).
 */
import type { Rdn } from '../dn.js';
import type { ScepFailInfo } from './scep-spool.js';

export type WorkflowKind = 'enroll' | 'renew';
/** How the request was authenticated: a one-time challenge, a renewal signature, an authorised signer, or not at all. */
export type WorkflowAuth = 'challenge' | 'renewal' | 'on-behalf' | 'none';

export interface Approval {
  readonly by: string;
  readonly at: number;
}

/** One enrollment, from its first PKCSReq or RenewalReq to its certificate or failure. */
export interface ScepWorkflow {
  readonly txid: string;
  /** The request id its reserve, issue and refuse records carry (32 hex digits). */
  readonly req: string;
  readonly kind: WorkflowKind;
  /** SHA-256 (hex) of the message type, the CSR and the signer certificate: a repeat of the transaction is the same request. */
  readonly request: string;
  readonly subject: readonly Rdn[];
  /** SubjectPublicKeyInfo DER, base64. */
  readonly spki: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly auth: WorkflowAuth;
  /** The serial of the certificate that signed a renewal or an on-behalf request. */
  readonly signer?: string;
  /** The certificate a renewal replaces. */
  readonly replaces?: string;
  /** The eligibility command's word: null until it ran (or when none is configured). */
  readonly eligible: boolean | null;
  readonly approvals: readonly Approval[];
  readonly created: number;
  /** A workflow not finished by then fails (pending) or is forgotten (finished). */
  readonly expires: number;
  readonly state: 'pending' | 'issued' | 'failed';
  readonly serial?: string;
  readonly failInfo?: ScepFailInfo;
  readonly reason?: string;
  readonly finished?: number;
}

export interface ScepChallenge {
  /** SHA-256 of the challenge (hex); the challenge itself is printed once and never stored. */
  readonly hash: string;
  /** The subjects it may be used for: one pattern in SUBJECT_NAMESPACE syntax. */
  readonly subject: string;
  readonly expires: number;
  readonly by: string;
}

export type ScepRecord =
  | { t: 'scep'; step: 'challenge'; challenge: ScepChallenge; at: number }
  | { t: 'scep'; step: 'challenge-used'; hash: string; txid: string; at: number }
  /** A new workflow, or a live one carried over a checkpoint, whole. */
  | { t: 'scep'; step: 'workflow'; workflow: ScepWorkflow; at: number }
  | { t: 'scep'; step: 'eligibility'; txid: string; eligible: boolean; why: string; at: number }
  | { t: 'scep'; step: 'approve'; txid: string; by: string; at: number }
  | { t: 'scep'; step: 'finish'; txid: string; serial?: string; failInfo?: ScepFailInfo; reason: string; at: number };

export type ScepStep = ScepRecord['step'];
