/**
 * The issuance pipeline of the root supervisor, in three steps:
 *   admit            spool entry -> parser -> the parser's answer checked -> subject and lifetime decided
 *   reserve and sign a serial reserved in the journal -> the signer -> its answer checked
 *   record, answer   journal flush -> answer published -> derived files
 * Every outcome is recorded in the journal before the client can see it, and
 * a certificate is answered only if the token was stable across its
 * signature and the certificate is exactly the one asked for.
 */
import { existsSync, lstatSync } from 'node:fs';
import type { Config } from '@etoken-ca/contract/core/config';
import type { Outcome } from '@etoken-ca/contract/core/cadb/database';
import { onelineDn } from '@etoken-ca/contract/core/dn';
import { ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { answerFile, lockFile, requestFile, type Answer, type LockOwner, type SpoolLayout } from '@etoken-ca/contract/core/spool';
import { faultPoint } from '@etoken-ca/contract/io/fault-point';
import type { ParsedRequest } from '@etoken-ca/protocol/parser-messages';
import type { CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { encodeName } from '@etoken-ca/x509/name';
import { sameName } from '@etoken-ca/x509/oneline-name';
import type { CertificateContent } from '@etoken-ca/x509/template';
import type { AuditLog } from './audit-log.js';
import { decideActiveLimit } from './core/active-limit.js';
import { parserAnswerProblem } from './core/parser-answer-check.js';
import { RequestTracker } from './core/request-state.js';
import { computeValidity, type Validity } from './core/validity.js';
import { lockOwnerAlive, processStartedAtMs } from './proc.js';
import type { SignQueue, Turn } from './sign-queue.js';
import type { SignedAnswerChecks } from './signed-answers.js';
import { prepareAnswer, writeAnswer, type PreparedAnswer } from './spool/answers.js';
import { readSpoolEntry } from './spool/entry.js';
import { removeSpoolName } from './spool/remove-entry.js';
import { derToPem, type CaStore } from './store/ca-store.js';
import { StoreError } from './store/store-error.js';
import type { SignOutcome, TokenManager } from './token-manager.js';
import type { ParserClient } from './workers/parser-client.js';

export interface SupervisorDeps {
  readonly config: Config;
  readonly layout: SpoolLayout;
  readonly store: CaStore;
  readonly parser: ParserClient;
  readonly token: TokenManager;
  readonly log: AuditLog;
  readonly clientGid: number;
  readonly ca: CaCertificate;
  readonly checks: SignedAnswerChecks;
  /** The token's one queue, shared with SCEP (tokenSignQueue). */
  readonly queue: SignQueue;
  readonly clock?: () => number;
}

/** An admitted request: what the certificate will say, short of its serial. */
interface Admitted {
  readonly fields: ParsedRequest;
  /** The subject as index.txt spells it. */
  readonly subject: string;
  /** The uid that owns it in the spool (the front end's account), and its waiting process. */
  readonly account: number;
  readonly owner: LockOwner;
  /** When its client gives up waiting. */
  readonly deadline: number;
  readonly admittedAt: number;
}

/**
 * Time kept between a signature and its client's deadline to record and answer it and let the client read it: at
 * least this, or three times what recording and answering has taken lately (a busy disk flushes slowly).
 */
const MIN_ANSWER_MARGIN_MS = 1000;
/** A request given its turn within this long of being read is not looked up in /proc again. */
const OWNER_RECHECK_MS = 100;

/** A signature the supervisor accepted, recorded next. */
interface Signed {
  readonly serial: string;
  readonly der: Buffer;
  readonly validity: Validity;
  readonly subject: string;
  readonly supersede: readonly string[];
}

/** The lock is a symlink to a name that does not exist: look at the link itself, never follow it. */
function lockPresent(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true;
}

const MAX_UNREMOVABLE = 10_000;
const TRY_AGAIN = 'try again';

/** What a client whose certificate was withheld is told, by what happened to the signature. */
const WITHHELD_BECAUSE: Readonly<Record<string, string>> = {
  'token-changed': 'the token was removed or changed during signing',
  'token-gone': 'the token was removed or failed during signing',
  exited: 'the signer stopped during signing',
  stuck: 'the token did not finish the signature in time (SIGNER_TIMEOUT)',
  untrusted: "the signer's answer failed its checks",
};

export class Supervisor {
  private readonly tracker = new RequestTracker();
  /** Rejected entries that could not be removed (a non-empty directory): reported once, not again at every rescan. */
  private readonly unremovable = new Set<string>();
  /** Requests per subject between their reserve record and their outcome, for MAX_ACTIVE_CERTS. */
  private readonly signingFor = new Map<string, number>();
  private readonly clock: () => number;
  /** Running estimate of the time from a signature to its answer published, ms. */
  private answerMs = 0;

  constructor(private readonly d: SupervisorDeps) {
    this.clock = d.clock ?? Date.now;
  }

  get inFlight(): number {
    return this.tracker.size;
  }

  isInFlight(id: string): boolean {
    return this.tracker.has(id);
  }

  /** A lock appeared (inotify or rescan). Safe to call repeatedly for the same id. */
  onLock(id: string): void {
    if (this.tracker.has(id)) {
      // A client that gives up removes its lock: its turn at the token goes to the others.
      if (!lockPresent(lockFile(this.d.layout, id))) this.d.queue.departed(id);
      return;
    }
    if (this.unremovable.has(id) || existsSync(answerFile(this.d.layout, id))) return;
    // Events also name locks that were just removed (by their client, or by us after a rejection): nothing to do or log.
    if (lstatSync(lockFile(this.d.layout, id), { throwIfNoEntry: false }) === undefined) return;
    const prior = this.d.store.db.outcome(id);
    if (prior) {
      this.d.log.info({ event: 'request.repeated', req: id }, 'request already finished: answering its recorded outcome');
      this.answer(id, this.answerFor(id, prior));
      return;
    }
    // The CA disk below its reserve, or the journal unusable: refused before anything is written.
    if (this.refusedByStore(id)) return;
    this.tracker.begin(id);
    this.process(id).catch((e: Error) => {
      this.tracker.drop(id);
      if (e instanceof StoreError) return this.refuseUnrecorded(id, e);
      this.d.log.error({ event: 'request.failed', req: id, err: e.message }, 'internal error while processing a request');
      this.answer(id, { status: 'refused', exit: ExitCode.software, reason: 'internal error in etoken-ca-server' });
    });
  }

  /** Refuses the request when the store takes none now (answered with exit 75, not recorded: nothing is written). */
  private refusedByStore(id: string): boolean {
    const refusal = this.d.store.refusal();
    if (!refusal) return false;
    this.tracker.drop(id);
    this.refuseUnrecorded(id, refusal);
    return true;
  }

  /** A refusal that is not recorded: the CA database could not take the request (the client may ask again). */
  private refuseUnrecorded(id: string, e: StoreError): void {
    this.d.log.warn({ event: 'cert.refused', req: id, reason: e.clientReason, err: e.message }, `request refused: ${e.clientReason}`);
    this.answer(id, { status: 'refused', exit: ExitCode.tempFail, reason: e.clientReason });
  }

  private async process(id: string): Promise<void> {
    const admitted = await this.admit(id);
    if (!admitted) return;
    const signed = await this.reserveAndSign(id, admitted);
    if (signed) await this.recordAndAnswer(id, signed);
  }

  /** Step 1: the spool entry checked, parsed, and the parser's answer checked against the request. */
  private async admit(id: string): Promise<Admitted | null> {
    const { config, layout, log } = this.d;
    const seen = this.clock();
    const entry = readSpoolEntry(layout, id, config.maxRequestSize, {
      ownerAlive: (owner, uid) => lockOwnerAlive(owner.pid, owner.startTime, uid),
    });
    if (!entry.ok) {
      this.reject(id, entry.reason, entry.gone);
      return null;
    }
    log.info({ event: 'request.received', req: id, uid: entry.uid, bytes: entry.bytes.length }, 'request received');
    faultPoint('server.after-received');

    const parsed = await this.d.parser.parse(id, entry.bytes);
    faultPoint('server.after-parse');
    if (!parsed.ok) return this.refuse(id, parsed.exit, parsed.reason);
    const lie = parserAnswerProblem(entry.bytes, parsed.fields, config);
    if (lie) {
      this.d.parser.distrust(id, lie);
      return this.refuse(id, ExitCode.tempFail, `request parser failed; ${TRY_AGAIN}`);
    }
    // The namespace is part of the contract's rules, which parserAnswerProblem just applied; the CA's own name is root's to know.
    const subject = onelineDn(parsed.fields.subject);
    if (sameName(encodeName(parsed.fields.subject), this.d.ca.subjectDer)) return this.refuse(id, ExitCode.dataError, "subject equal to the CA's own", subject);
    this.tracker.advance(id, 'validated');
    // The client says when its clock started (the request file's mtime); neither before its process started nor
    // after the request was seen. A client that claims more time than it has only loses token time to itself.
    const processStart = processStartedAtMs(entry.owner.startTime) ?? seen;
    const started = Math.min(seen, Math.max(processStart, entry.startedMs));
    const deadline = started + config.clientTimeout * 1000;
    // A client gives up at its deadline: an entry read after it was left behind or forged, and it is not "busy".
    if (deadline <= seen) return this.refuse(id, ExitCode.tempFail, `request older than CLIENT_TIMEOUT when the CA read it; ${TRY_AGAIN}`, subject);
    return { fields: parsed.fields, subject, account: entry.uid, owner: entry.owner, deadline, admittedAt: this.clock() };
  }

  /**
   * Step 2: a turn at the token (sign-queue.ts), a serial reserved durably enough to be withheld after a crash, the
   * signature, and its checks. A request taken and not sent to the token (the token went away, the signer was
   * replaced) goes back to the head of the queue.
   */
  private async reserveAndSign(id: string, admitted: Admitted): Promise<Signed | null> {
    const { fields, subject } = admitted;
    const { config, store } = this.d;
    for (let again = false; ; again = true) {
      const turn = await this.d.queue.turn(id, admitted.account, admitted.deadline - this.answerMargin(), again);
      if (turn.kind !== 'go') return this.noTurn(id, subject, turn);
      let signed: { tokenMs?: number } | null = null;
      try {
        // Right before the token: nothing is signed for a client that has gone.
        const waiting = this.stillWaiting(id, admitted);
        if (waiting !== true) return this.noTurn(id, subject, { kind: 'gone', why: waiting });
        let validity: Validity;
        try {
          validity = computeValidity({
            now: new Date(this.clock()),
            proxyLifetime: fields.proxyLifetime,
            maxCertLifetime: fields.maxCertLifetime,
            config,
            caNotAfter: new Date(this.d.ca.notAfter),
          });
        } catch (e) {
          return this.refuse(id, ExitCode.dataError, (e as Error).message, subject);
        }
        // Checked right before the reserve record, with no await in between: two requests of one subject cannot both pass.
        const limit = decideActiveLimit({
          max: config.maxActiveCerts,
          revokeOnReplace: config.revokeOnReplace,
          active: config.maxActiveCerts > 0 ? store.db.activeFor(subject, this.clock()).map((e) => e.serial) : [],
          inFlight: this.signingFor.get(subject) ?? 0,
        });
        if (limit.kind === 'refuse') return this.refuse(id, limit.exit, limit.reason, subject);
        if (this.refusedByStore(id)) return null;
        const serial = store.db.unusedSerial();
        store.append({ t: 'reserve', req: id, serial, subject, notAfter: validity.notAfter, at: this.clock() });
        faultPoint('server.after-reserve');
        const content: CertificateContent = { serial, subject: fields.subject, emails: fields.emails, spki: fields.spki, ...validity };
        this.signingFor.set(subject, (this.signingFor.get(subject) ?? 0) + 1);
        let outcome: SignOutcome;
        try {
          outcome = await this.d.token.sign({ type: 'sign-cert', id, content });
        } finally {
          this.doneSigning(subject);
        }
        faultPoint('server.after-signer-returned');
        if (outcome.kind === 'signed') signed = { tokenMs: outcome.tokenMs };
        switch (outcome.kind) {
          case 'not-sent':
            store.appendOrDefer({ t: 'release', serial, at: this.clock() });
            continue;
          case 'refused':
            return this.refuse(id, ExitCode.dataError, outcome.reason, subject, serial);
          case 'failed':
            return this.refuse(id, ExitCode.tempFail, `the token failed this signature (${outcome.reason}); ${TRY_AGAIN}`, subject, serial);
          case 'signed': {
            if (!outcome.stable) return this.withhold(id, serial, subject, 'token-changed', 'token changed during the signature');
            const wrong = this.d.checks.certificate(content, outcome.der);
            if (wrong) {
              this.d.token.distrustSigner(id, wrong);
              return this.withhold(id, serial, subject, 'untrusted', `the signer's certificate failed its check: ${wrong}`);
            }
            this.tracker.advance(id, 'signed');
            return { serial, der: outcome.der, validity, subject, supersede: limit.supersede };
          }
          case 'crl-signed':
            this.d.token.distrustSigner(id, 'a CRL signature where a certificate was asked for');
            return this.withhold(id, serial, subject, 'untrusted', 'the signer answered with a CRL signature');
          case 'lost':
            return this.withhold(id, serial, subject, outcome.loss, outcome.reason);
        }
      } finally {
        turn.release(signed !== null, signed?.tokenMs);
      }
    }
  }

  /**
   * True while its client is still there to take the certificate: lock in place, its process alive (looked up again
   * only when it waited: it was alive when the request was read), its deadline ahead.
   */
  private stillWaiting(id: string, { owner, account, deadline, admittedAt }: Admitted): true | 'departed' | 'expired' {
    const now = this.clock();
    if (!lockPresent(lockFile(this.d.layout, id))) return 'departed';
    if (now - admittedAt > OWNER_RECHECK_MS && !lockOwnerAlive(owner.pid, owner.startTime, account)) return 'departed';
    return now < deadline - this.answerMargin() ? true : 'expired';
  }

  private answerMargin(): number {
    return Math.max(MIN_ANSWER_MARGIN_MS, 3 * this.answerMs);
  }

  /** A request the token will not serve: refused at once, or dropped when its client has left. */
  private noTurn(id: string, subject: string, turn: Exclude<Turn, { kind: 'go' }>): null {
    switch (turn.kind) {
      case 'busy':
        return this.refuse(id, ExitCode.tempFail, `CA busy, ${turn.queued} requests queued; ${TRY_AGAIN} later`, subject);
      case 'unavailable':
        return this.refuse(id, ExitCode.unavailable, 'the CA token is failing and signing is stopped; the operator has been alerted', subject);
      case 'stopping':
        return this.refuse(id, ExitCode.tempFail, `etoken-ca-server is stopping; ${TRY_AGAIN}`, subject);
      case 'gone':
        // A client past its deadline is about to give up (or has): answered all the same, so that the request is not taken up again.
        if (turn.why === 'expired') return this.refuse(id, ExitCode.tempFail, `no turn at the token within CLIENT_TIMEOUT; ${TRY_AGAIN}`, subject);
        this.tracker.drop(id);
        this.d.log.info({ event: 'request.abandoned', req: id, subject }, 'client gave up while waiting for the token');
        return null;
    }
  }

  /** Step 3: durable first, then the answer, then the derived files and the audit record. */
  private async recordAndAnswer(id: string, signed: Signed): Promise<void> {
    const { store, log } = this.d;
    const { serial, der, subject, validity } = signed;
    const began = this.clock();
    let cert: ReturnType<CaStore['append']>;
    try {
      cert = store.append({ t: 'issue', req: id, serial, der: der.toString('base64'), at: this.clock() });
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      // Signed and not recorded: never handed out, and withheld as soon as the journal takes the record.
      void store.withhold({ t: 'withhold', req: id, serial, why: `the issue record could not be written: ${e.message}`, at: this.clock() });
      return this.withheldUnrecorded(id, serial, subject, e);
    }
    // Superseded in the same flush as their replacement; index.txt catches up on the next checkpoint.
    const superseded = signed.supersede.filter((old) => store.appendOrDefer({ t: 'revoke', serial: old, reason: 'superseded', at: this.clock(), by: 'REVOKE_ON_REPLACE' }));
    faultPoint('server.after-issue-appended');
    // The flush starts first (fdatasync runs off the main thread); the answer is written while it runs and
    // becomes visible only once it is done.
    const durable = store.commit();
    const prepared = this.prepare(id, { status: 'issued', serial, pem: derToPem(der) });
    try {
      await durable;
    } catch (e) {
      prepared?.discard();
      // A failed flush: the store wrote the journal again from disk, with this certificate withheld.
      if (e instanceof StoreError) return this.withheldUnrecorded(id, serial, subject, e);
      throw e;
    }
    faultPoint('server.after-flush');
    this.tracker.advance(id, 'recorded');
    if (prepared) this.attempt(id, () => prepared.publish());
    this.answerMs += 0.2 * (this.clock() - began - this.answerMs);
    faultPoint('server.after-answer-written');
    // Derived from the journal (rebuilt from it after a crash): not worth making the client wait for.
    store.recordIssued(cert!, der);
    store.note({ t: 'answer', req: id, at: this.clock() });
    this.tracker.advance(id, 'answered');
    log.info(
      { event: 'cert.issued', req: id, serial, subject, notBefore: new Date(validity.notBefore).toISOString(), notAfter: new Date(validity.notAfter).toISOString() },
      'certificate issued',
    );
    for (const old of superseded) {
      log.info({ event: 'cert.revoked', serial: old, subject, reason: 'superseded', by: 'REVOKE_ON_REPLACE', req: id, replacement: serial }, `certificate ${old} superseded by ${serial}`);
    }
  }

  /** A spool entry that is not a request to work on: answered when someone may still be waiting, removed either way. */
  private reject(id: string, reason: string, gone: boolean): void {
    const { layout, log } = this.d;
    this.tracker.drop(id);
    if (gone) {
      log.info({ event: 'request.abandoned', req: id, reason }, 'client gone before its request was read');
    } else {
      log.warn({ event: 'spool.rejected', req: id, reason }, `spool entry rejected: ${reason}`);
      this.answer(id, { status: 'refused', exit: ExitCode.dataError, reason: `spool entry rejected: ${reason}` });
    }
    const removed = removeSpoolName(lockFile(layout, id)) && removeSpoolName(requestFile(layout, id));
    if (!removed) {
      if (this.unremovable.size >= MAX_UNREMOVABLE) this.unremovable.clear();
      this.unremovable.add(id);
    }
  }

  private refuse(id: string, exit: number, reason: string, subject?: string, serial?: string): null {
    // The refusal is answered whether or not its record can be written; one that releases a serial is written later.
    const record = { t: 'refuse', req: id, exit, reason, at: this.clock(), ...(serial ? { serial } : {}) } as const;
    if (serial) this.d.store.appendOrDefer(record);
    else this.d.store.note(record);
    this.tracker.advance(id, 'refused');
    this.d.log.warn({ event: 'cert.refused', req: id, subject, reason }, `request refused: ${reason}`);
    this.answer(id, { status: 'refused', exit, reason });
    return null;
  }

  /** Signed, or maybe signed, and never to be handed out: revoked at once. */
  private async withhold(id: string, serial: string, subject: string, because: string, why: string): Promise<null> {
    const { store, log } = this.d;
    await store.withhold({ t: 'withhold', req: id, serial, why, at: this.clock() });
    this.tracker.advance(id, 'withheld');
    log.warn({ event: 'cert.withheld', req: id, serial, subject, reason: why }, 'certificate withheld and revoked');
    this.answer(id, { status: 'refused', exit: ExitCode.tempFail, reason: withheldMessage(because) });
    return null;
  }

  /** A signed certificate the journal could not record (disk full, failed write or flush): withheld, and the client told to come back. */
  private withheldUnrecorded(id: string, serial: string, subject: string, e: StoreError): void {
    this.tracker.advance(id, 'withheld');
    this.d.log.warn({ event: 'cert.withheld', req: id, serial, subject, reason: e.message }, 'certificate withheld: the CA database could not record it');
    this.answer(id, { status: 'refused', exit: ExitCode.tempFail, reason: e.clientReason });
  }

  private doneSigning(subject: string): void {
    const left = (this.signingFor.get(subject) ?? 1) - 1;
    if (left > 0) this.signingFor.set(subject, left);
    else this.signingFor.delete(subject);
  }

  private answerFor(id: string, outcome: Outcome): Answer {
    switch (outcome.kind) {
      case 'issued':
        try {
          return { status: 'issued', serial: outcome.serial, pem: this.d.store.issuedPem(outcome.serial) };
        } catch (e) {
          this.d.log.error({ event: 'request.failed', req: id, serial: outcome.serial, err: (e as Error).message }, `certificate ${outcome.serial} was issued but its newcerts/ file cannot be read`);
          return { status: 'refused', exit: ExitCode.software, reason: 'internal error in etoken-ca-server' };
        }
      case 'refused':
        return { status: 'refused', exit: outcome.exit, reason: outcome.reason };
      case 'withheld':
        return { status: 'refused', exit: ExitCode.tempFail, reason: withheldMessage('token-changed') };
    }
  }

  private answer(id: string, answer: Answer): void {
    this.attempt(id, () => writeAnswer(this.d.layout, id, answer, this.d.clientGid));
  }

  private prepare(id: string, answer: Answer): PreparedAnswer | undefined {
    return this.attempt(id, () => prepareAnswer(this.d.layout, id, answer, this.d.clientGid));
  }

  /** A client that gets no answer times out and may ask again: logged, never fatal. */
  private attempt<T>(id: string, write: () => T): T | undefined {
    try {
      return write();
    } catch (e) {
      this.d.log.error({ event: 'answer.failed', req: id, err: (e as Error).message }, 'cannot write the answer');
      return undefined;
    }
  }
}

function withheldMessage(because: string): string {
  return `certificate withheld: ${WITHHELD_BECAUSE[because] ?? 'the signature could not be confirmed'}; ${TRY_AGAIN}`;
}
