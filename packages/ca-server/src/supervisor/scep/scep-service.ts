/**
 * The CA side of SCEP: entries of the SCEP spool, the enrollment workflows
 * of the journal, and their answers. Each entry is read as an attack
 * (spool/entry.ts), parsed by the request parser, and then decided here on
 * plain fields, with the secrets checked on this side of the spool: the
 * challenge's hash, and for a renewal the signer certificate compared byte
 * for byte with newcerts/ and its state in the database. A workflow is
 * recorded in the journal before anyone is told PENDING; its certificate,
 * its end and the revocations it causes are flushed together before the
 * SUCCESS is answered. Requests are idempotent by transaction id.
 *
 * When the CA database cannot take a record (below its free-space reserve,
 * a failed write or flush), a new request gets no answer (the front end
 * tells its client to try again), and a recorded workflow stays pending.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '@etoken-ca/contract/core/config';
import { onelineDn } from '@etoken-ca/contract/core/dn';
import { inNamespace } from '@etoken-ca/contract/core/namespace';
import type { ScepWorkflow } from '@etoken-ca/contract/core/scep/scep-records';
import { dnsNameAllowed, ipAllowed, ipBytes } from '@etoken-ca/contract/core/scep/scep-names';
import { formatScepAnswer, type ScepAnswer, type ScepFailInfo } from '@etoken-ca/contract/core/scep/scep-spool';
import { answerFile, lockFile, requestFile, type SpoolLayout } from '@etoken-ca/contract/core/spool';
import { faultPoint } from '@etoken-ca/contract/io/fault-point';
import type { ParsedScepMessage, ScepCsrFields } from '@etoken-ca/protocol/scep-parser-messages';
import type { CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { encodeName } from '@etoken-ca/x509/name';
import { sameName } from '@etoken-ca/x509/oneline-name';
import { derOf } from '@etoken-ca/x509/pem';
import type { Account } from '../../launch/account.js';
import { lockOwnerAlive } from '../proc.js';
import type { SignedAnswerChecks } from '../signed-answers.js';
import { writeAnswerText } from '../spool/answers.js';
import { readSpoolEntry } from '../spool/entry.js';
import { removeSpoolName } from '../spool/remove-entry.js';
import { StoreError } from '../store/store-error.js';
import type { ParserClient } from '../workers/parser-client.js';
import { approvalState, authenticate, checkDuplicates, profileProblem, type OwnSigner } from './core/enrollment-rules.js';
import { askEligibility } from './eligibility.js';
import { issueScepCertificate, type IssuanceDeps } from './scep-issuance.js';

export interface ScepServiceDeps extends IssuanceDeps {
  readonly config: Config;
  readonly layout: SpoolLayout;
  /** SCEP_GROUP: the front end reads its answers through it. */
  readonly gid: number;
  readonly parser: ParserClient;
  readonly checks: SignedAnswerChecks;
  readonly ca: CaCertificate;
  readonly hookAccount: Account;
  /** Revocations were recorded: have a CRL made. */
  readonly nudgeCrl: (why: string) => void;
}

/** A pkiMessage with its content key, with room to spare. */
const MAX_ENTRY_BYTES = 80 * 1024;
const HOUR_MS = 3_600_000;

export class ScepService {
  /** Spool entries being worked on. */
  private readonly entries = new Set<string>();
  /** Transactions being decided or issued: a repeat meanwhile is answered PENDING. */
  private readonly busy = new Set<string>();
  /** Subjects whose certificate is being issued. */
  private readonly issuing = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: ScepServiceDeps) {}

  get inFlight(): number {
    return this.entries.size + this.busy.size;
  }

  isInFlight(id: string): boolean {
    return this.entries.has(id);
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 60_000);
    this.timer.unref();
    this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** A lock appeared in the SCEP spool (inotify or rescan). Safe to call repeatedly. */
  onLock(id: string): void {
    const { layout } = this.d;
    if (this.entries.has(id) || existsSync(answerFile(layout, id))) return;
    this.entries.add(id);
    this.handle(id)
      .catch((e: Error) => this.d.log.error({ event: 'request.failed', req: id, err: e.message }, 'internal error while processing a SCEP request'))
      .finally(() => this.entries.delete(id));
  }

  private async handle(id: string): Promise<void> {
    const { layout, log } = this.d;
    const entry = readSpoolEntry(layout, id, MAX_ENTRY_BYTES, { ownerAlive: (owner, uid) => lockOwnerAlive(owner.pid, owner.startTime, uid) });
    if (!entry.ok) {
      if (!entry.gone) {
        log.warn({ event: 'spool.rejected', req: id, spool: 'scep', reason: entry.reason }, `SCEP spool entry rejected: ${entry.reason}`);
        this.answer(id, { status: 'FAILURE', failInfo: 'badRequest', reason: `spool entry rejected: ${entry.reason}` });
      }
      removeSpoolName(lockFile(layout, id));
      removeSpoolName(requestFile(layout, id));
      return;
    }
    faultPoint('server.after-received');
    const parsed = await this.d.parser.parseScep(id, entry.bytes);
    faultPoint('server.after-parse');
    if (!parsed.ok) {
      log.warn({ event: 'scep.refused', req: id, failInfo: parsed.failInfo, reason: parsed.reason }, `SCEP request refused: ${parsed.reason}`);
      // A parser that died says nothing about the request: no answer, and the front end tells its client to try again.
      if (parsed.failInfo !== null) this.answer(id, { status: 'FAILURE', failInfo: parsed.failInfo, reason: parsed.reason });
      return;
    }
    const message = parsed.message;
    log.info({ event: 'scep.received', req: id, txid: message.transactionId, messageType: message.messageType }, `SCEP ${message.messageType} received`);
    let answer: ScepAnswer;
    try {
      answer = await this.decide(message);
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      // Nothing was recorded for it: no answer, and the front end tells its client to try again.
      log.warn({ event: 'scep.refused', req: id, txid: message.transactionId, reason: e.clientReason, err: e.message }, `SCEP request not taken: ${e.clientReason}`);
      return;
    }
    this.answer(id, answer);
  }

  private async decide(message: ParsedScepMessage): Promise<ScepAnswer> {
    switch (message.messageType) {
      case 'PKCSReq':
      case 'RenewalReq':
        return this.enroll(message, message.csr!);
      case 'CertPoll':
        return this.poll(message.transactionId);
      case 'GetCert':
        return this.getCert(message.serial!);
      case 'GetCRL':
        return this.getCrl();
    }
  }

  // ---- enrollment

  private async enroll(message: ParsedScepMessage, csr: ScepCsrFields): Promise<ScepAnswer> {
    const { store, log } = this.d;
    const txid = message.transactionId;
    const identity = requestIdentity(message, csr);
    const known = store.db.scep.workflow(txid);
    if (known?.request === identity) {
      log.info({ event: 'scep.repeated', txid, state: known.state }, `SCEP transaction ${txid} repeated`);
      return this.continueWorkflow(known);
    }
    // Another request under a transaction id still in progress is refused; after its end the id starts anew
    // (clients derive it from their key, so a renewal with the same key repeats it).
    if (known?.state === 'pending') {
      log.warn({ event: 'scep.refused', txid, reason: 'transaction id reused' }, `SCEP transaction ${txid} repeated with another request: refused`);
      return failure('badRequest', 'this transaction id belongs to another request in progress');
    }
    if (this.busy.has(txid)) return { status: 'PENDING' };
    const subject = onelineDn(csr.subject);
    const refusal = this.profileRefusal(csr, subject) ?? null;
    if (refusal) return this.refuseNew(txid, subject, refusal.failInfo, refusal.reason);
    const challengeHash = csr.challengePassword === null ? undefined : createHash('sha256').update(csr.challengePassword, 'utf8').digest('hex');
    const challenge = challengeHash === undefined ? undefined : store.db.scep.challenge(challengeHash, this.d.clock());
    const auth = authenticate(
      {
        messageType: message.messageType as 'PKCSReq' | 'RenewalReq',
        subject,
        signerSelfSigned: message.signerSelfSigned,
        ownSigner: message.signerSelfSigned ? undefined : this.ownSigner(message),
        challengeGiven: challengeHash !== undefined,
        challengeSubject: challenge?.subject,
        now: this.d.clock(),
      },
      this.d.config,
    );
    if (!auth.ok) return this.refuseNew(txid, subject, auth.failInfo, auth.reason);
    // A new workflow is not begun below the CA disk's reserve.
    const storeRefusal = store.refusal();
    if (storeRefusal) throw storeRefusal;

    const now = this.d.clock();
    const workflow: ScepWorkflow = {
      txid,
      req: createHash('sha256').update(`scep\0${txid}\0${identity}`).digest('hex').slice(0, 32),
      kind: auth.kind,
      request: identity,
      subject: csr.subject,
      spki: csr.spki.toString('base64'),
      dnsNames: csr.dnsNames,
      ipAddresses: csr.ipAddresses,
      auth: auth.auth,
      ...(auth.signer ? { signer: auth.signer } : {}),
      ...(auth.replaces ? { replaces: auth.replaces } : {}),
      eligible: null,
      approvals: [],
      created: now,
      expires: now + this.d.config.scepWorkflowExpiry * HOUR_MS,
      state: 'pending',
    };
    store.append({ t: 'scep', step: 'workflow', workflow, at: now });
    // The challenge is spent in the same flush as the workflow it opened: it can never open a second one.
    if (auth.auth === 'challenge') store.append({ t: 'scep', step: 'challenge-used', hash: challengeHash!, txid, at: now });
    await store.commit();
    faultPoint('server.scep-after-workflow-recorded');
    log.info(
      { event: 'scep.workflow', txid, req: workflow.req, subject, kind: workflow.kind, auth: workflow.auth, signer: workflow.signer, dnsNames: workflow.dnsNames, ipAddresses: workflow.ipAddresses },
      `SCEP workflow ${txid} started for ${subject} (${workflow.auth})`,
    );
    return this.continueWorkflow(store.db.scep.workflow(txid)!);
  }

  private profileRefusal(csr: ScepCsrFields, subject: string): { failInfo: ScepFailInfo; reason: string } | null {
    const { config, ca } = this.d;
    const problem = profileProblem(
      { subject, subjectIsCa: sameName(encodeName(csr.subject), ca.subjectDer), dnsNames: csr.dnsNames, ipAddresses: csr.ipAddresses },
      {
        inNamespace: (s) => inNamespace(config.namespace, s),
        inScepSubjects: (s) => config.scepSubjects.length === 0 || inNamespace(config.scepSubjects, s),
        dnsAllowed: (name) => dnsNameAllowed(config.scepSanDns, name),
        ipAllowed: (address) => {
          const bytes = ipBytes(address);
          return bytes !== null && ipAllowed(config.scepSanIp, bytes);
        },
      },
    );
    return problem && { failInfo: problem.failInfo, reason: problem.reason };
  }

  /** The signer, if its DER is byte for byte a certificate this CA issued (newcerts/): whatever the parser says of it. */
  private ownSigner(message: ParsedScepMessage): OwnSigner | undefined {
    const entry = this.d.store.db.get(message.signerSerial);
    if (!entry) return undefined;
    let der: Buffer;
    try {
      der = derOf(Buffer.from(this.d.store.issuedPem(message.signerSerial), 'latin1'), 'CERTIFICATE');
    } catch {
      return undefined;
    }
    if (!der.equals(message.signerCertificate)) return undefined;
    return { serial: entry.serial, subject: entry.subject, status: entry.status, notAfter: entry.notAfter };
  }

  private async refuseNew(txid: string, subject: string, failInfo: ScepFailInfo, reason: string): Promise<ScepAnswer> {
    this.d.log.warn({ event: 'scep.refused', txid, subject, failInfo, reason }, `SCEP request ${txid} refused: ${reason}`);
    return failure(failInfo, reason);
  }

  /** Stages 3 to 5 for a recorded workflow, and the answer its state gives. */
  private async continueWorkflow(workflow: ScepWorkflow): Promise<ScepAnswer> {
    if (workflow.state !== 'pending') return this.finishedAnswer(workflow);
    if (this.busy.has(workflow.txid)) return { status: 'PENDING' };
    this.busy.add(workflow.txid);
    try {
      return await this.advance(workflow);
    } finally {
      this.busy.delete(workflow.txid);
    }
  }

  private async advance(start: ScepWorkflow): Promise<ScepAnswer> {
    const { store, config, log } = this.d;
    let workflow = start;
    if (workflow.expires <= this.d.clock()) return this.finish(workflow, { failInfo: 'badTime', reason: 'the request expired before it was approved' }, 'scep.expired');
    if (config.scepEligibilityCommand !== '' && workflow.eligible === null) {
      const verdict = await askEligibility(config, this.d.hookAccount, workflow);
      store.append({ t: 'scep', step: 'eligibility', txid: workflow.txid, eligible: verdict.eligible, why: verdict.why, at: this.d.clock() });
      await store.commit();
      log.info({ event: 'scep.eligibility', txid: workflow.txid, eligible: verdict.eligible, why: verdict.why }, `SCEP workflow ${workflow.txid}: eligibility ${verdict.eligible ? 'yes' : 'no'} (${verdict.why})`);
      workflow = store.db.scep.workflow(workflow.txid)!;
      if (!verdict.eligible) return this.finish(workflow, { failInfo: 'badRequest', reason: `not eligible: ${verdict.why}` }, 'scep.failed');
    }
    const approval = approvalState(workflow, config);
    if (!approval.approved) {
      log.info({ event: 'scep.pending', txid: workflow.txid, points: approval.points, required: approval.required }, `SCEP workflow ${workflow.txid} waits for approval (${approval.points} of ${approval.required} points)`);
      return { status: 'PENDING' };
    }
    return this.issue(workflow);
  }

  private async issue(workflow: ScepWorkflow): Promise<ScepAnswer> {
    const subject = onelineDn(workflow.subject);
    // One issuance per subject at a time: the duplicate check must see the other's certificate.
    if (this.issuing.has(subject)) return { status: 'PENDING' };
    this.issuing.add(subject);
    try {
      return await this.issueFor(workflow, subject);
    } finally {
      this.issuing.delete(subject);
    }
  }

  private async issueFor(workflow: ScepWorkflow, subject: string): Promise<ScepAnswer> {
    const { store, config, log } = this.d;
    // Its certificate recorded and its end not (a crash between the two records): the end is written now, nothing signed again.
    const earlier = store.db.outcome(workflow.req);
    if (earlier?.kind === 'issued') {
      store.append({ t: 'scep', step: 'finish', txid: workflow.txid, serial: earlier.serial, reason: 'issued', at: this.d.clock() });
      await store.commit();
      return this.finishedAnswer(store.db.scep.workflow(workflow.txid)!);
    }
    const active = store.db.activeFor(subject, this.d.clock()).map((e) => e.serial);
    const duplicates = checkDuplicates(workflow, active, config);
    if (!duplicates.ok) return this.finish(workflow, duplicates, 'scep.failed');
    const issued = await issueScepCertificate(this.d, {
      req: workflow.req,
      subject: workflow.subject,
      spki: Buffer.from(workflow.spki, 'base64'),
      names: { dnsNames: workflow.dnsNames, ipAddresses: workflow.ipAddresses },
    });
    if (issued.kind === 'retry') {
      log.warn({ event: 'scep.retry', txid: workflow.txid, reason: issued.reason }, `SCEP workflow ${workflow.txid}: no certificate this time (${issued.reason}); it stays pending`);
      return { status: 'PENDING' };
    }
    if (issued.kind === 'refused') return this.finish(workflow, issued, 'scep.failed');
    const now = this.d.clock();
    const revoked: string[] = [];
    // The issue record is in: what follows it never throws, so that the certificate always reaches its index line.
    for (const serial of duplicates.revoke) {
      if (store.appendOrDefer({ t: 'revoke', serial, reason: 'superseded', at: now, by: `SCEP_AUTO_REVOKE_EXISTING (${workflow.txid})` })) revoked.push(serial);
    }
    const replaceNow = workflow.replaces !== undefined && config.scepRevokeOnReplace !== null && config.scepRevokeDelay === 0;
    if (replaceNow && store.appendOrDefer({ t: 'revoke', serial: workflow.replaces!, reason: config.scepRevokeOnReplace!, at: now, by: `SCEP_REVOKE_ON_REPLACE (${workflow.txid})` })) {
      revoked.push(workflow.replaces!);
    }
    // Written later when it cannot be now: a workflow whose certificate is recorded ends with it either way (see above).
    store.appendOrDefer({ t: 'scep', step: 'finish', txid: workflow.txid, serial: issued.serial, reason: 'issued', at: now });
    try {
      await store.commit();
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      // The store withheld the certificate and took the workflow back to pending: issued again on a later poll.
      log.warn({ event: 'scep.retry', txid: workflow.txid, reason: e.message }, `SCEP workflow ${workflow.txid}: certificate withheld (${e.clientReason}); it stays pending`);
      return { status: 'PENDING' };
    }
    faultPoint('server.scep-after-flush');
    store.recordIssued(issued.entry, issued.der);
    log.info({ event: 'cert.issued', req: workflow.req, serial: issued.serial, subject, front: 'scep', txid: workflow.txid }, 'certificate issued');
    log.info({ event: 'scep.issued', txid: workflow.txid, serial: issued.serial, subject, replaces: workflow.replaces }, `SCEP workflow ${workflow.txid} issued ${issued.serial}`);
    this.announceRevocations(revoked, subject, workflow.txid, issued.serial);
    return { status: 'SUCCESS', certificate: issued.der.toString('base64') };
  }

  private announceRevocations(serials: readonly string[], subject: string, txid: string, replacement: string): void {
    for (const serial of serials) {
      this.d.log.info({ event: 'cert.revoked', serial, subject, reason: 'replaced', txid, replacement }, `certificate ${serial} revoked: replaced by ${replacement}`);
    }
    if (serials.length > 0) this.d.nudgeCrl('SCEP replacement');
  }

  private async finish(workflow: ScepWorkflow, why: { failInfo: ScepFailInfo; reason: string }, event: 'scep.failed' | 'scep.expired'): Promise<ScepAnswer> {
    const { store, log } = this.d;
    store.append({ t: 'scep', step: 'finish', txid: workflow.txid, failInfo: why.failInfo, reason: why.reason, at: this.d.clock() });
    await store.commit();
    log.warn({ event, txid: workflow.txid, subject: onelineDn(workflow.subject), failInfo: why.failInfo, reason: why.reason }, `SCEP workflow ${workflow.txid} failed: ${why.reason}`);
    return failure(why.failInfo, why.reason);
  }

  private finishedAnswer(workflow: ScepWorkflow): ScepAnswer {
    if (workflow.state === 'failed') return failure(workflow.failInfo ?? 'badRequest', workflow.reason ?? 'refused');
    try {
      return { status: 'SUCCESS', certificate: derOf(Buffer.from(this.d.store.issuedPem(workflow.serial!), 'latin1'), 'CERTIFICATE').toString('base64') };
    } catch (e) {
      this.d.log.error({ event: 'request.failed', txid: workflow.txid, serial: workflow.serial, err: (e as Error).message }, `certificate ${workflow.serial} was issued but its newcerts/ file cannot be read`);
      return { status: 'PENDING' };
    }
  }

  // ---- the other messages

  private async poll(txid: string): Promise<ScepAnswer> {
    const workflow = this.d.store.db.scep.workflow(txid);
    if (!workflow) return failure('badRequest', 'no request with this transaction id');
    return this.continueWorkflow(workflow);
  }

  private getCert(serial: string): ScepAnswer {
    // An expired certificate left on disk is served from newcerts/ too; a serial the filter only may hold has no file there.
    if (!this.d.store.db.get(serial) && !this.d.store.db.mayBeCold(serial)) return failure('badCertId', `no certificate ${serial} from this CA`);
    try {
      return { status: 'SUCCESS', certificate: derOf(Buffer.from(this.d.store.issuedPem(serial), 'latin1'), 'CERTIFICATE').toString('base64') };
    } catch {
      return failure('badCertId', `certificate ${serial} cannot be read`);
    }
  }

  private getCrl(): ScepAnswer {
    try {
      const pem = readFileSync(join(this.d.config.crlDir, 'crl.pem'));
      return { status: 'SUCCESS', crl: derOf(pem, 'X509 CRL').toString('base64') };
    } catch {
      return failure('badRequest', 'no CRL has been published yet');
    }
  }

  // ---- operators and time

  /** One operator approval point; the workflow is issued at once when that was the last point it needed. */
  async approve(txid: string, by: string): Promise<{ ok: boolean; message: string }> {
    const { store, log } = this.d;
    const workflow = store.db.scep.workflow(txid);
    if (!workflow) return { ok: false, message: `no SCEP request with transaction id ${txid}` };
    if (workflow.state !== 'pending') return { ok: false, message: `SCEP request ${txid} has already ended (${workflow.state})` };
    if (workflow.approvals.some((a) => a.by === by)) return { ok: false, message: `${by} has already approved ${txid}: each operator counts once` };
    store.append({ t: 'scep', step: 'approve', txid, by, at: this.d.clock() });
    await store.commit();
    const approved = store.db.scep.workflow(txid)!;
    const { points, required } = approvalState(approved, this.d.config);
    log.info({ event: 'scep.approved', txid, by, points, required }, `SCEP workflow ${txid} approved by ${by} (${points} of ${required} points)`);
    const answer = await this.continueWorkflow(approved);
    if (answer.status === 'SUCCESS') return { ok: true, message: `approved by ${by}; certificate ${store.db.scep.workflow(txid)?.serial} issued` };
    if (answer.status === 'FAILURE') return { ok: true, message: `approved by ${by}; the request then failed: ${answer.reason}` };
    return { ok: true, message: `approved by ${by}: ${points} of ${required} approval points` };
  }

  /** Expired workflows fail; approved ones left pending (a token that was away) are tried again; delayed replacements are revoked. */
  tick(): void {
    const now = this.d.clock();
    for (const workflow of this.d.store.db.scep.pending()) {
      if (this.busy.has(workflow.txid)) continue;
      if (workflow.expires <= now || approvalState(workflow, this.d.config).approved) void this.continueWorkflow(workflow).catch(() => undefined);
    }
    this.revokeReplacedAfterDelay(now);
  }

  private revokeReplacedAfterDelay(now: number): void {
    const { config, store } = this.d;
    if (config.scepRevokeOnReplace === null || config.scepRevokeDelay === 0) return;
    const revoked: string[] = [];
    for (const workflow of store.db.scep.all()) {
      const old = workflow.replaces === undefined ? undefined : store.db.get(workflow.replaces);
      if (workflow.state !== 'issued' || !old || old.status !== 'V' || (workflow.finished ?? now) + config.scepRevokeDelay * HOUR_MS > now) continue;
      // From a timer: a revocation the journal cannot take now is written once it can, never thrown.
      if (store.appendOrDefer({ t: 'revoke', serial: old.serial, reason: config.scepRevokeOnReplace, at: now, by: `SCEP_REVOKE_ON_REPLACE (${workflow.txid})` })) revoked.push(old.serial);
    }
    if (revoked.length > 0) void store.commit().then(() => this.announceRevocations(revoked, 'replaced by SCEP renewal', 'delayed', 'renewal'), () => undefined);
  }

  private answer(id: string, answer: ScepAnswer): void {
    try {
      writeAnswerText(this.d.layout, id, formatScepAnswer(answer), this.d.gid);
    } catch (e) {
      this.d.log.error({ event: 'answer.failed', req: id, err: (e as Error).message }, 'cannot write the SCEP answer');
    }
  }
}

/** What makes a repeat the same request: its message type, its CSR and the certificate that signed it. */
function requestIdentity(message: ParsedScepMessage, csr: ScepCsrFields): string {
  return createHash('sha256').update(`${message.messageType}\0${csr.digest}\0`).update(message.signerCertificate).digest('hex');
}

function failure(failInfo: ScepFailInfo, reason: string): ScepAnswer {
  return { status: 'FAILURE', failInfo, reason };
}
