/**
 * One certificate of the SCEP profile, from the reserve record to the issue
 * record: a serial reserved in the journal before the signer is asked, the
 * signer's certificate checked to be exactly the one asked for under the
 * CA's signature on a token unchanged throughout, then the issue record
 * appended (the caller adds its own records and flushes them together).
 * What may have been signed and cannot be confirmed is withheld (revoked),
 * never handed out; the workflow then stays pending and is tried again. So
 * does a workflow the CA database cannot take now (below its free-space
 * reserve, a failed write): nothing is signed before its reserve record is
 * written, and a signature whose issue record cannot be written is withheld.
 * The token is reached through the server's one signing queue, in a line of
 * SCEP's own beside the MyProxy front ends' accounts.
 */
import type { Config } from '@etoken-ca/contract/core/config';
import type { CertEntry } from '@etoken-ca/contract/core/cadb/database';
import { onelineDn, type Rdn } from '@etoken-ca/contract/core/dn';
import { ExitCode } from '@etoken-ca/contract/core/exit-codes';
import type { ScepFailInfo } from '@etoken-ca/contract/core/scep/scep-spool';
import { faultPoint } from '@etoken-ca/contract/io/fault-point';
import type { CaCertificate } from '@etoken-ca/x509/ca-certificate';
import type { ScepNames } from '@etoken-ca/x509/scep-profile';
import type { CertificateContent } from '@etoken-ca/x509/template';
import type { AuditLog } from '../audit-log.js';
import type { SignQueue, Turn } from '../sign-queue.js';
import type { SignedAnswerChecks } from '../signed-answers.js';
import type { CaStore } from '../store/ca-store.js';
import { StoreError } from '../store/store-error.js';
import type { TokenManager } from '../token-manager.js';

const DAY_MS = 86_400_000;
/** SCEP's line in the signing queue: no uid is negative, so it is never a MyProxy front end's. */
export const SCEP_ACCOUNT = -1;
/** SCEP clients poll, and an unfinished workflow is signed on a later poll: no one gives up on a SCEP signature. */
const NO_DEADLINE = Number.POSITIVE_INFINITY;

export interface IssuanceDeps {
  readonly config: Config;
  readonly store: CaStore;
  readonly token: Pick<TokenManager, 'sign' | 'distrustSigner'>;
  /** The token's one queue, shared with the MyProxy front ends (tokenSignQueue). */
  readonly queue: Pick<SignQueue, 'turn'>;
  readonly ca: CaCertificate;
  readonly checks: SignedAnswerChecks;
  readonly log: AuditLog;
  readonly clock: () => number;
}

export interface IssueRequest {
  /** The journal's request id for this certificate's records. */
  readonly req: string;
  readonly subject: readonly Rdn[];
  readonly spki: Buffer;
  readonly names: ScepNames;
}

export type IssueResult =
  /** The issue record is appended (not yet flushed). */
  | { readonly kind: 'issued'; readonly serial: string; readonly der: Buffer; readonly entry: CertEntry }
  | { readonly kind: 'refused'; readonly failInfo: ScepFailInfo; readonly reason: string }
  /** Nothing was handed out; the same request may be tried again later. */
  | { readonly kind: 'retry'; readonly reason: string };

/** notBefore BACKDATE seconds ago; notAfter SCEP_LIFETIME_DAYS on, never past the CA's own end; whole seconds. */
function validity(config: Config, ca: CaCertificate, now: number): { notBefore: number; notAfter: number } {
  const second = Math.floor(now / 1000) * 1000;
  const notAfter = Math.min(second + config.scepLifetimeDays * DAY_MS, Math.floor(ca.notAfter / 1000) * 1000);
  return { notBefore: second - config.backdate * 1000, notAfter };
}

export async function issueScepCertificate(d: IssuanceDeps, request: IssueRequest): Promise<IssueResult> {
  const { store } = d;
  const subject = onelineDn(request.subject);
  // A signature that never reached the token goes back to the head of the queue.
  for (let again = false; ; again = true) {
    const turn = await d.queue.turn(request.req, SCEP_ACCOUNT, NO_DEADLINE, again);
    if (turn.kind !== 'go') return noTurn(turn);
    let signed: { tokenMs?: number } | null = null;
    try {
      const times = validity(d.config, d.ca, d.clock());
      if (times.notAfter <= times.notBefore + d.config.backdate * 1000) return { kind: 'refused', failInfo: 'badRequest', reason: 'the CA certificate expires too soon' };
      const serial = store.db.unusedSerial();
      try {
        const refusal = store.refusal();
        if (refusal) throw refusal;
        store.append({ t: 'reserve', req: request.req, serial, subject, notAfter: times.notAfter, at: d.clock() });
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        return { kind: 'retry', reason: e.clientReason };
      }
      faultPoint('server.scep-after-reserve');
      const content: CertificateContent = { serial, subject: request.subject, emails: [], spki: request.spki, ...times, scep: request.names };
      const outcome = await d.token.sign({ type: 'sign-cert', id: request.req, content });
      faultPoint('server.scep-after-signer-returned');
      if (outcome.kind === 'signed') signed = { tokenMs: outcome.tokenMs };
      switch (outcome.kind) {
        case 'not-sent':
          store.appendOrDefer({ t: 'release', serial, at: d.clock() });
          continue;
        case 'failed':
          store.appendOrDefer({ t: 'release', serial, at: d.clock() });
          return { kind: 'retry', reason: outcome.reason };
        case 'refused':
          store.appendOrDefer({ t: 'refuse', req: request.req, exit: ExitCode.dataError, reason: outcome.reason, at: d.clock(), serial });
          return { kind: 'refused', failInfo: 'badRequest', reason: `the signer refused: ${outcome.reason}` };
        case 'crl-signed':
          d.token.distrustSigner(request.req, 'a CRL signature where a certificate was asked for');
          return withhold(d, request.req, serial, subject, 'the signer answered with a CRL signature');
        case 'lost':
          return withhold(d, request.req, serial, subject, outcome.reason);
        case 'signed': {
          if (!outcome.stable) return withhold(d, request.req, serial, subject, 'token changed during the signature');
          const wrong = d.checks.certificate(content, outcome.der);
          if (wrong) {
            d.token.distrustSigner(request.req, wrong);
            return withhold(d, request.req, serial, subject, `the signer's certificate failed its check: ${wrong}`);
          }
          let entry: CertEntry | undefined;
          try {
            entry = store.append({ t: 'issue', req: request.req, serial, der: outcome.der.toString('base64'), at: d.clock() });
          } catch (e) {
            if (!(e instanceof StoreError)) throw e;
            // Signed and not recorded: never handed out, and withheld as soon as the journal takes the record.
            void store.withhold({ t: 'withhold', req: request.req, serial, why: `the issue record could not be written: ${e.message}`, at: d.clock() });
            d.log.warn({ event: 'cert.withheld', req: request.req, serial, subject, reason: e.message }, 'certificate withheld: the CA database could not record it');
            return { kind: 'retry', reason: e.clientReason };
          }
          faultPoint('server.scep-after-issue-appended');
          return { kind: 'issued', serial, der: outcome.der, entry: entry! };
        }
      }
    } finally {
      turn.release(signed !== null, signed?.tokenMs);
    }
  }
}

/** No turn at the token this time: nothing was reserved, and the workflow stays pending for a later poll. */
function noTurn(turn: Exclude<Turn, { kind: 'go' }>): IssueResult {
  switch (turn.kind) {
    case 'busy':
      // Only a deadline makes a request busy, and SCEP's has none: should it happen, the next poll tries again.
      return { kind: 'retry', reason: `CA busy, ${turn.queued} requests queued` };
    case 'unavailable':
      return { kind: 'retry', reason: 'the CA token is failing and signing is stopped' };
    case 'stopping':
      return { kind: 'retry', reason: 'etoken-ca-server is stopping' };
    case 'gone':
      // Only a MyProxy client leaves (its lock removed, its deadline passed); a SCEP request has neither.
      throw new Error(`a SCEP request left the signing queue (${turn.why}), which only a MyProxy client can do`);
  }
}

async function withhold(d: IssuanceDeps, req: string, serial: string, subject: string, why: string): Promise<IssueResult> {
  await d.store.withhold({ t: 'withhold', req, serial, why, at: d.clock() });
  d.log.warn({ event: 'cert.withheld', req, serial, subject, reason: why }, 'certificate withheld and revoked');
  return { kind: 'retry', reason: why };
}
