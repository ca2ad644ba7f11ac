/**
 * OpenXPKI's SCEP enrollment stages, as pure decisions over facts the
 * supervisor gathered (the parser's plain fields, the CA database, the
 * journal's challenges). Stage 1, the technical check of key and
 * algorithms, is the parser's; the signer checks the profile again on the
 * certificate it signs.
 *
 *   2 authentication: a renewal signed by a valid certificate of this CA for
 *     the same subject inside the renewal window; a signer allowed "on
 *     behalf" (SCEP_ON_BEHALF); a one-time challenge for this subject; or
 *     none, which is refused or waits for operators (SCEP_UNAUTHENTICATED);
 *   3 the subject's valid certificates against SCEP_MAX_ACTIVE_CERTS (a
 *     renewal counts one less), revoking them on an initial enrollment with
 *     SCEP_AUTO_REVOKE_EXISTING;
 *   5 approval points: the eligibility command's yes and each operator's
 *     approval, against SCEP_APPROVAL_POINTS.
 */
import type { Config } from '@etoken-ca/contract/core/config';
import { inNamespace } from '@etoken-ca/contract/core/namespace';
import type { ScepWorkflow, WorkflowAuth } from '@etoken-ca/contract/core/scep/scep-records';
import type { ScepFailInfo } from '@etoken-ca/contract/core/scep/scep-spool';

const DAY_MS = 86_400_000;

export type Refusal = { readonly ok: false; readonly failInfo: ScepFailInfo; readonly reason: string };

const refuse = (failInfo: ScepFailInfo, reason: string): Refusal => ({ ok: false, failInfo, reason });

/** The message's signer, when it is not self-signed and its DER is byte for byte a certificate of this CA. */
export interface OwnSigner {
  readonly serial: string;
  readonly subject: string;
  readonly status: 'V' | 'R' | 'E';
  readonly notAfter: number;
}

export interface AuthenticationFacts {
  readonly messageType: 'PKCSReq' | 'RenewalReq';
  /** The CSR's subject, as index.txt spells it. */
  readonly subject: string;
  readonly signerSelfSigned: boolean;
  /** Set when the signer is one of this CA's certificates; undefined for a self-signed or foreign signer. */
  readonly ownSigner: OwnSigner | undefined;
  readonly challengeGiven: boolean;
  /** The unused, unexpired challenge whose hash the given one has; undefined when there is none. */
  readonly challengeSubject: string | undefined;
  readonly now: number;
}

export type Authentication = { readonly ok: true; readonly auth: WorkflowAuth; readonly kind: 'enroll' | 'renew'; readonly signer?: string; readonly replaces?: string } | Refusal;

type Settings = Pick<Config, 'scepRenewalDays' | 'scepRenewExpired' | 'scepOnBehalf' | 'scepUnauthenticated'>;

export function authenticate(facts: AuthenticationFacts, config: Settings): Authentication {
  const { ownSigner, now } = facts;
  if (!facts.signerSelfSigned && ownSigner) {
    if (ownSigner.status === 'R') return refuse('badCertId', `the signer certificate ${ownSigner.serial} is revoked`);
    if (ownSigner.notAfter <= now && !config.scepRenewExpired) return refuse('badCertId', `the signer certificate ${ownSigner.serial} has expired`);
    if (ownSigner.subject === facts.subject) {
      const opens = ownSigner.notAfter - config.scepRenewalDays * DAY_MS;
      if (config.scepRenewalDays > 0 && now < opens) {
        return refuse('badRequest', `renewal of ${ownSigner.serial} is possible from ${new Date(opens).toISOString()} (SCEP_RENEWAL_DAYS)`);
      }
      return { ok: true, auth: 'renewal', kind: 'renew', signer: ownSigner.serial, replaces: ownSigner.serial };
    }
    if (inNamespace(config.scepOnBehalf, ownSigner.subject)) return { ok: true, auth: 'on-behalf', kind: 'enroll', signer: ownSigner.serial };
    if (facts.messageType === 'RenewalReq') return refuse('badCertId', `the signer ${ownSigner.subject} may not renew ${facts.subject}`);
  } else if (facts.messageType === 'RenewalReq') {
    return refuse('badCertId', 'a RenewalReq must be signed by a valid certificate of this CA');
  }
  if (facts.challengeGiven) {
    if (facts.challengeSubject === undefined) return refuse('badRequest', 'the challenge password is wrong, used or expired');
    if (!inNamespace([facts.challengeSubject], facts.subject)) return refuse('badRequest', `the challenge password is not for subject ${facts.subject}`);
    return { ok: true, auth: 'challenge', kind: 'enroll' };
  }
  if (config.scepUnauthenticated === 'wait') return { ok: true, auth: 'none', kind: 'enroll' };
  return refuse('badRequest', 'the request carries no challenge password and no accepted signature');
}

export interface ProfileFacts {
  readonly subject: string;
  readonly subjectIsCa: boolean;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** The subject and names against the namespace and the SCEP profile (the signer checks them again on what it signs). */
export function profileProblem(facts: ProfileFacts, check: { inNamespace: (subject: string) => boolean; inScepSubjects: (subject: string) => boolean; dnsAllowed: (name: string) => boolean; ipAllowed: (address: string) => boolean }): Refusal | null {
  if (facts.subjectIsCa) return refuse('badRequest', "the subject is the CA's own");
  if (!check.inNamespace(facts.subject)) return refuse('badRequest', `subject ${facts.subject} is outside the CA namespace`);
  if (!check.inScepSubjects(facts.subject)) return refuse('badRequest', `subject ${facts.subject} is outside SCEP_SUBJECTS`);
  const dns = facts.dnsNames.find((name) => !check.dnsAllowed(name));
  if (dns !== undefined) return refuse('badRequest', `dNSName ${dns} is outside SCEP_SAN_DNS`);
  const ip = facts.ipAddresses.find((address) => !check.ipAllowed(address));
  if (ip !== undefined) return refuse('badRequest', `iPAddress ${ip} is outside SCEP_SAN_IP`);
  return null;
}

export type DuplicateDecision = { readonly ok: true; readonly revoke: readonly string[] } | Refusal;

/** Stage 3, right before the serial is reserved. `active`: the subject's valid certificates, oldest first. */
export function checkDuplicates(workflow: Pick<ScepWorkflow, 'kind' | 'replaces'>, active: readonly string[], config: Pick<Config, 'scepMaxActiveCerts' | 'scepAutoRevokeExisting'>): DuplicateDecision {
  const counted = active.filter((serial) => serial !== workflow.replaces);
  if (counted.length < config.scepMaxActiveCerts) return { ok: true, revoke: [] };
  if (workflow.kind === 'enroll' && config.scepAutoRevokeExisting) return { ok: true, revoke: counted };
  return refuse('badRequest', `the subject already has ${counted.length} valid certificate(s) (SCEP_MAX_ACTIVE_CERTS=${config.scepMaxActiveCerts})`);
}

/** Stage 5: the points a workflow needs, and whether it has them. An unauthenticated request always needs an operator. */
export function approvalState(workflow: Pick<ScepWorkflow, 'auth' | 'eligible' | 'approvals'>, config: Pick<Config, 'scepApprovalPoints'>): { readonly points: number; readonly required: number; readonly approved: boolean } {
  const points = (workflow.eligible === true ? 1 : 0) + workflow.approvals.length;
  const required = Math.max(config.scepApprovalPoints, workflow.auth === 'none' ? 1 : 0);
  const operatorNeeded = workflow.auth === 'none' && workflow.approvals.length === 0;
  return { points, required, approved: points >= required && !operatorNeeded };
}
