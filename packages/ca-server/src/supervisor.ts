/**
 * The issuance pipeline of the root supervisor: spool entry -> parser ->
 * policy -> reserve serial -> signer -> journal flush -> answer. Every
 * outcome is recorded in the journal before the client can see it, and a
 * certificate is answered only if the token was stable across its signature.
 */
import { existsSync, lstatSync } from 'node:fs';
import type { Config } from '@etoken-ca/contract/config';
import type { Outcome } from '@etoken-ca/contract/cadb/database';
import { onelineDn } from '@etoken-ca/contract/dn';
import { ExitCode } from '@etoken-ca/contract/exit-codes';
import { faultPoint } from '@etoken-ca/contract/fault-point';
import { answerFile, lockFile, requestFile, type Answer, type SpoolLayout } from '@etoken-ca/contract/spool';
import { decideActiveLimit } from './core/active-limit.js';
import { checkPolicy } from './core/policy.js';
import { RequestTracker } from './core/request-state.js';
import { computeValidity } from './core/validity.js';
import { lockOwnerAlive } from './proc.js';
import { prepareAnswer, writeAnswer, type PreparedAnswer } from './spool/answers.js';
import { readSpoolEntry } from './spool/entry.js';
import { removeSpoolName } from './spool/remove-entry.js';
import { derToPem, type CaStore } from './store/ca-store.js';
import type { AuditLog, SignOutcome, TokenManager } from './token-manager.js';
import type { ParserClient } from './workers/parser-client.js';

export interface SupervisorDeps {
  readonly config: Config;
  readonly layout: SpoolLayout;
  readonly store: CaStore;
  readonly parser: ParserClient;
  readonly token: TokenManager;
  readonly log: AuditLog;
  readonly clientGid: number;
  readonly caNotAfter: number;
  readonly clock?: () => number;
}

/** The lock is a symlink to a name that does not exist: look at the link itself, never follow it. */
function lockPresent(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true;
}

const MAX_UNREMOVABLE = 10_000;

export class Supervisor {
  private readonly tracker = new RequestTracker();
  /** Rejected entries that could not be removed (a non-empty directory): reported once, not again at every rescan. */
  private readonly unremovable = new Set<string>();
  /** Requests per subject between their reserve record and their outcome, for MAX_ACTIVE_CERTS. */
  private readonly signingFor = new Map<string, number>();
  private readonly clock: () => number;

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
    if (this.tracker.has(id) || this.unremovable.has(id) || existsSync(answerFile(this.d.layout, id))) return;
    // Events also name locks that were just removed (by their client, or by us after a rejection): nothing to do or log.
    if (lstatSync(lockFile(this.d.layout, id), { throwIfNoEntry: false }) === undefined) return;
    const prior = this.d.store.db.outcome(id);
    if (prior) {
      this.d.log.info({ event: 'request.repeated', req: id }, 'request already finished: answering its recorded outcome');
      this.answer(id, this.answerFor(id, prior));
      return;
    }
    this.tracker.begin(id);
    this.process(id).catch((e: Error) => {
      this.d.log.error({ event: 'request.failed', req: id, err: e.message }, 'internal error while processing a request');
      this.tracker.drop(id);
      this.answer(id, { status: 'refused', exit: ExitCode.software, reason: 'internal error in etoken-ca-server' });
    });
  }

  private async process(id: string): Promise<void> {
    const { config, layout, store, log } = this.d;
    const entry = readSpoolEntry(layout, id, config.maxRequestSize, {
      ownerAlive: (owner, uid) => lockOwnerAlive(owner.pid, owner.startTime, uid),
    });
    if (!entry.ok) {
      this.tracker.drop(id);
      if (entry.gone) {
        log.info({ event: 'request.abandoned', req: id, reason: entry.reason }, 'client gone before its request was read');
      } else {
        log.warn({ event: 'spool.rejected', req: id, reason: entry.reason }, `spool entry rejected: ${entry.reason}`);
        this.answer(id, { status: 'refused', exit: ExitCode.dataError, reason: `spool entry rejected: ${entry.reason}` });
      }
      const removed = removeSpoolName(lockFile(layout, id)) && removeSpoolName(requestFile(layout, id));
      if (!removed) {
        if (this.unremovable.size >= MAX_UNREMOVABLE) this.unremovable.clear();
        this.unremovable.add(id);
      }
      return;
    }
    log.info({ event: 'request.received', req: id, uid: entry.uid, bytes: entry.bytes.length }, 'request received');
    faultPoint('server.after-received');

    const parsed = await this.d.parser.parse(id, entry.bytes);
    faultPoint('server.after-parse');
    if (!parsed.ok) return this.refuse(id, parsed.exit, parsed.reason);
    const fields = parsed.fields;
    const subject = onelineDn(fields.subject);
    const policyProblem = checkPolicy(fields, config);
    if (policyProblem) return this.refuse(id, ExitCode.dataError, policyProblem, subject);
    this.tracker.advance(id, 'validated');

    for (;;) {
      await this.d.token.whenReady();
      if (!lockPresent(lockFile(layout, id))) {
        this.tracker.drop(id);
        log.info({ event: 'request.abandoned', req: id, subject }, 'client gave up while the token was not ready');
        return;
      }
      let validity: { notBefore: number; notAfter: number };
      try {
        validity = computeValidity({
          now: new Date(this.clock()),
          proxyLifetime: fields.proxyLifetime,
          maxCertLifetime: fields.maxCertLifetime,
          config,
          caNotAfter: new Date(this.d.caNotAfter),
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
      const serial = store.db.unusedSerial();
      store.append({ t: 'reserve', req: id, serial, subject, notAfter: validity.notAfter, at: this.clock() });
      faultPoint('server.after-reserve');
      this.signingFor.set(subject, (this.signingFor.get(subject) ?? 0) + 1);
      let outcome: SignOutcome;
      try {
        outcome = await this.d.token.sign({
          type: 'sign-cert',
          id,
          serial,
          subject: fields.subject,
          emails: fields.emails,
          spki: fields.spki,
          ...validity,
        });
      } finally {
        this.doneSigning(subject);
      }
      faultPoint('server.after-signer-returned');
      const { result } = outcome;
      if (!outcome.sent) {
        store.append({ t: 'release', serial, at: this.clock() });
        continue;
      }
      if (result.type === 'error' && !result.tokenGone) {
        return this.refuse(id, ExitCode.dataError, result.reason, subject, serial);
      }
      if (result.type === 'cert' && outcome.stable) {
        this.tracker.advance(id, 'signed');
        const cert = store.append({ t: 'issue', req: id, serial, der: result.der, at: this.clock() });
        // Superseded in the same flush as their replacement; index.txt catches up on the CRL path.
        const superseded = limit.supersede.filter((old) => store.append({ t: 'revoke', serial: old, reason: 'superseded', at: this.clock(), by: 'REVOKE_ON_REPLACE' }));
        faultPoint('server.after-issue-appended');
        // The flush starts first (fdatasync runs off the main thread); the answer is written while it runs and
        // becomes visible only once it is done.
        const durable = store.commit();
        const prepared = this.prepare(id, { status: 'issued', serial, pem: derToPem(Buffer.from(result.der, 'base64')) });
        try {
          await durable;
        } catch (e) {
          prepared?.discard();
          throw e;
        }
        faultPoint('server.after-flush');
        this.tracker.advance(id, 'recorded');
        this.publish(id, prepared);
        faultPoint('server.after-answer-written');
        // Derived from the journal (rebuilt from it after a crash): not worth making the client wait for.
        store.recordIssued(cert!, result.der);
        store.append({ t: 'answer', req: id, at: this.clock() });
        this.tracker.advance(id, 'answered');
        log.info(
          { event: 'cert.issued', req: id, serial, subject, notBefore: new Date(validity.notBefore).toISOString(), notAfter: new Date(validity.notAfter).toISOString() },
          'certificate issued',
        );
        for (const old of superseded) {
          log.info({ event: 'cert.revoked', serial: old, subject, reason: 'superseded', by: 'REVOKE_ON_REPLACE', req: id, replacement: serial }, `certificate ${old} superseded by ${serial}`);
        }
        return;
      }
      // Signed, or maybe signed, while the token changed: revoked at once, never returned.
      const why = result.type === 'error' ? result.reason : 'token changed during the signature';
      const withheld = store.append({ t: 'withhold', req: id, serial, why, at: this.clock() });
      await store.commit();
      store.recordWithheld(withheld);
      this.tracker.advance(id, 'withheld');
      log.warn({ event: 'cert.withheld', req: id, serial, subject, reason: why }, 'certificate withheld and revoked');
      this.answer(id, { status: 'refused', exit: ExitCode.tempFail, reason: 'certificate withheld: the token changed during signing; try again' });
      return;
    }
  }

  private refuse(id: string, exit: number, reason: string, subject?: string, serial?: string): void {
    this.d.store.append({ t: 'refuse', req: id, exit, reason, at: this.clock(), ...(serial ? { serial } : {}) });
    this.tracker.advance(id, 'refused');
    this.d.log.warn({ event: 'cert.refused', req: id, subject, reason }, `request refused: ${reason}`);
    this.answer(id, { status: 'refused', exit, reason });
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
        return { status: 'refused', exit: ExitCode.tempFail, reason: 'certificate withheld: the token changed during signing; try again' };
    }
  }

  private answer(id: string, answer: Answer): void {
    this.attempt(id, () => writeAnswer(this.d.layout, id, answer, this.d.clientGid));
  }

  private prepare(id: string, answer: Answer): PreparedAnswer | undefined {
    return this.attempt(id, () => prepareAnswer(this.d.layout, id, answer, this.d.clientGid));
  }

  private publish(id: string, prepared: PreparedAnswer | undefined): void {
    if (prepared) this.attempt(id, () => prepared.publish());
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
