/**
 * The server's revocation path: drains the queue into the database, signs a
 * CRL on the token and publishes it. Nudges (inotify, SIGUSR1, the rescan
 * timer, the token coming back) coalesce: one drain at a time, and nudges
 * during a drain cause at most one more. A CRL number is recorded durably
 * before signing and never reused; a CRL is published only when the token was
 * stable across its signature; queue entries leave the queue only once a
 * published CRL lists them. Without a usable token nothing moves.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '@etoken-ca/contract/core/config';
import { faultPoint } from '@etoken-ca/contract/io/fault-point';
import { moveToDone, type QueueLayout } from '@etoken-ca/contract/io/revocation-queue-dir';
import type { RevocationRequest } from '@etoken-ca/contract/core/revocation-queue';
import type { CaStore } from '../store/ca-store.js';
import type { AuditLog } from '../audit-log.js';
import type { SignOutcome } from '../token-manager.js';
import type { SignCrlRequest } from '@etoken-ca/protocol/signer-messages';
import { buildTbsCertList, type CrlTemplate } from '@etoken-ca/x509/crl';
import { assembleSigned } from '@etoken-ca/x509/signed';
import { crlDue, DAY_MS, msUntilCrlCanBeDated, nextCrlTimes } from './crl-schedule.js';
import { latestCrlPresent, publishCrl, pruneCrlCopies } from './crl-files.js';
import { pruneDoneEntries } from './done-entries.js';
import type { PostCrlHook } from './post-crl-hook.js';
import { scanQueue } from './queue-reader.js';
import { RevokedEntryCache } from './revoked-entry-cache.js';

export interface CrlSigner {
  readonly state: string;
  whenReady(): Promise<void>;
  signCrl(request: SignCrlRequest): Promise<SignOutcome>;
  /** The signature the signer returned does not verify: it is not trusted again. */
  distrustSigner(id: string, reason: string): void;
}

export type RevocationSettings = Pick<Config, 'crlDir' | 'crlFormats' | 'crlDays' | 'crlReissueDays' | 'crlDropExpired' | 'crlKeep'>;

export interface RevocationServiceDeps {
  readonly settings: RevocationSettings;
  readonly queue: QueueLayout;
  readonly store: CaStore;
  readonly token: CrlSigner;
  readonly template: CrlTemplate;
  /** Whether a signature over a TBSCertList is the CA key's: the signer's word is not taken for it. */
  readonly verifySignature: (tbs: Buffer, signature: Buffer) => boolean;
  readonly log: AuditLog;
  readonly postCrl: PostCrlHook;
  /** Tells the operator (the notifier); never throws. */
  readonly notify: (event: string, details: Record<string, unknown>) => void;
  readonly clock?: () => number;
  /** How long a nudge from the queue's watcher waits for the rest of a run (default SETTLE_MS). */
  readonly settleMs?: number;
}

/**
 * A nudge from the queue's watcher waits this long before draining, so entries written together (one revoke-cert
 * run) share a CRL. SIGUSR1 ends the wait: revoke-cert sends it once all its entries are written and synced.
 */
const SETTLE_MS = 100;
const ALL_WRITTEN = 'SIGUSR1';
/** Done entries are kept this long for revoke-cert to read. */
const DONE_KEEP_MS = DAY_MS;
const PRUNE_EVERY_MS = 3600_000;
/** An unusable token with a CRL about to expire is reported this often. */
const EXPIRY_WARNING_EVERY_MS = 6 * 3600_000;

export class RevocationService {
  private readonly cache = new RevokedEntryCache();
  private readonly clock: () => number;
  private running = false;
  private again = false;
  private stopped = false;
  private waitingForToken = false;
  private lastPrune = 0;
  private lastExpiryWarning = 0;
  private endSettling: (() => void) | null = null;

  constructor(private readonly d: RevocationServiceDeps) {
    this.clock = d.clock ?? Date.now;
  }

  /** Something may have changed: drain now, or once more after the running drain. */
  nudge(why: string): void {
    if (this.stopped) return;
    if (why === ALL_WRITTEN) this.endSettling?.();
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop(why);
  }

  /** A drain is running (a stop waits for it, as for requests in flight). */
  get busy(): boolean {
    return this.running;
  }

  /**
   * Encodes the CRL entries of every revoked certificate now, at start-up, so that the first revocation after a
   * restart publishes its CRL as fast as any later one (a revoked entry never changes; the next CRL reuses them).
   */
  encodeRevoked(): void {
    this.cache.select(this.d.store.db, null);
  }

  /** No new drains. */
  stop(): void {
    this.stopped = true;
  }

  private async loop(why: string): Promise<void> {
    if (why !== 'rescan') this.d.log.info({ event: 'revocation.check', why }, 'checking the revocation queue');
    if (why !== ALL_WRITTEN) await this.settle();
    do {
      this.again = false;
      try {
        await this.drain();
      } catch (e) {
        this.d.log.error({ event: 'revocation.failed', err: (e as Error).message }, `revocation drain failed: ${(e as Error).message}`);
      }
    } while (this.again && !this.stopped);
    this.running = false;
  }

  private settle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.endSettling?.(), this.d.settleMs ?? SETTLE_MS);
      this.endSettling = () => {
        clearTimeout(timer);
        this.endSettling = null;
        resolve();
      };
    });
  }

  private async drain(): Promise<void> {
    const { settings, store, log } = this.d;
    const now = this.clock();
    this.pruneDone(now);
    const scan = scanQueue(this.d.queue);
    for (const r of scan.rejected) log.warn({ event: 'revocation.rejected', queue: r.id, reason: r.reason }, `revocation queue entry removed: ${r.reason}`);
    const requests = this.refuseUnknown(scan.requests, now);
    const due =
      store.db.crlState.revokedSinceLastCrl === true ||
      crlDue(store.db.crlState, now, settings.crlReissueDays, latestCrlPresent(settings.crlDir, settings.crlFormats));
    if (requests.length === 0 && !due) return;
    if (this.d.token.state !== 'ready') return this.waitForToken(requests.length, now);

    for (const r of requests) this.revoke(r, now);
    faultPoint('server.after-revoke-recorded');
    const wait = msUntilCrlCanBeDated(store.db.crlState, this.clock());
    if (wait > 0) await sleep(wait);
    const signedAt = this.clock();
    const times = nextCrlTimes(store.db.crlState, signedAt, settings.crlDays);
    const number = store.db.crlState.lastNumber + 1;
    store.append({ t: 'crl-number', number, thisUpdate: times.thisUpdate, at: signedAt });
    await store.commit();
    faultPoint('server.after-crl-number');

    const entries = this.cache.select(store.db, settings.crlDropExpired ? times.thisUpdate : null);
    const tbs = buildTbsCertList(this.d.template, { number, ...times, entries: [entries.der] });
    const id = `crl-${number}`;
    const outcome = await this.d.token.signCrl({ type: 'sign-crl', id, tbs });
    const problem = this.problemWith(outcome, id, tbs);
    if (problem !== null || outcome.kind !== 'crl-signed') {
      const reason = problem ?? 'no signature';
      log.warn({ event: 'crl.not-published', number, reason, queued: requests.length }, `CRL ${number} not published: ${reason}`);
      if (this.d.token.state !== 'ready') this.waitForToken(requests.length, now);
      return;
    }
    faultPoint('server.after-crl-signed');
    const der = assembleSigned(tbs, this.d.template.algorithm, outcome.signature);
    const path = publishCrl(settings.crlDir, number, der, settings.crlFormats);
    faultPoint('server.after-crl-written');
    store.append({ t: 'crl-published', number, ...times, at: this.clock() });
    await store.commit();
    faultPoint('server.after-crl-published');
    log.info(
      { event: 'crl.issued', number, entries: entries.count, thisUpdate: new Date(times.thisUpdate).toISOString(), nextUpdate: new Date(times.nextUpdate).toISOString(), path },
      `CRL ${number} published with ${entries.count} entries`,
    );
    const pruned = pruneCrlCopies(settings.crlDir, settings.crlKeep);
    if (pruned.length > 0) log.info({ event: 'crl.pruned', numbers: pruned }, `removed the copies of ${pruned.length} older CRL(s), keeping ${settings.crlKeep}`);
    const hook = this.d.postCrl(number, path);
    // The CRL lists them and the journal holds them: revoke-cert is answered now, not after the index rewrite.
    for (const r of requests) moveToDone(this.d.queue, { ...r, crlNumber: number, doneAt: this.clock() });
    // index.txt gets the new R lines (openssl ca -status): a rewrite of the whole file, seconds at a million
    // certificates. The journal holds them already, so a checkpoint that fails now (a full disk) only delays
    // that: the store tries again by itself.
    await store.checkpoint().catch((e: Error) => log.warn({ event: 'db.checkpoint-failed', err: e.message }, `checkpoint after CRL ${number} failed: ${e.message}`));
    await hook;
  }

  /** Why a signing outcome gives no CRL to publish, or null when it does. */
  private problemWith(outcome: SignOutcome, id: string, tbs: Buffer): string | null {
    switch (outcome.kind) {
      case 'crl-signed':
        if (!outcome.stable) return 'token changed during the signature';
        if (this.d.verifySignature(tbs, outcome.signature)) return null;
        this.d.token.distrustSigner(id, 'the CRL signature does not verify with the CA public key');
        return 'the signature does not verify with the CA public key';
      case 'not-sent':
        return 'token not ready';
      case 'signed':
        return 'a certificate where a CRL signature was asked for';
      default:
        return outcome.reason;
    }
  }

  /** Entries naming no certificate of this CA (revoke-cert checks, but the database is the authority) end at once. */
  private refuseUnknown(requests: readonly RevocationRequest[], now: number): RevocationRequest[] {
    return requests.filter((r) => {
      if (this.d.store.certificate(r.serial)) return true;
      this.d.log.warn({ event: 'revocation.refused', queue: r.id, serial: r.serial, by: r.by }, `revocation of unknown serial ${r.serial} refused`);
      moveToDone(this.d.queue, { ...r, crlNumber: null, refused: 'unknown serial', doneAt: now });
      return false;
    });
  }

  /** Marks the certificate revoked, unless it already is (a replay after a crash, or withheld): listed either way. */
  private revoke(r: RevocationRequest, now: number): void {
    const cert = this.d.store.db.get(r.serial);
    if (!cert || cert.status === 'R') return;
    const compromise = r.compromisedAt === undefined ? {} : { compromisedAt: r.compromisedAt };
    this.d.store.append({ t: 'revoke', serial: r.serial, reason: r.reason, at: Math.min(r.requestedAt, now), by: r.by, queue: r.id, ...compromise });
    this.d.log.info({ event: 'cert.revoked', serial: r.serial, subject: cert.subject, reason: r.reason, by: r.by, queue: r.id }, `certificate ${r.serial} revoked`);
  }

  private waitForToken(queued: number, now: number): void {
    const published = this.d.store.db.crlState.published;
    const reissueFrom = published ? published.nextUpdate - this.d.settings.crlReissueDays * DAY_MS : 0;
    if (published && now >= reissueFrom && now - this.lastExpiryWarning >= EXPIRY_WARNING_EVERY_MS) {
      this.lastExpiryWarning = now;
      const nextUpdate = new Date(published.nextUpdate).toISOString();
      const message = `The published CRL ${published.number} expires at ${nextUpdate} and cannot be re-signed: the CA token is not usable.`;
      this.d.log.warn({ event: 'crl.expiring', number: published.number, nextUpdate }, message);
      this.d.notify('crl.expiring', { message, crlNumber: published.number, nextUpdate });
    }
    if (this.waitingForToken) return;
    this.waitingForToken = true;
    this.d.log.warn({ event: 'revocation.waiting', queued }, 'token not usable: revocations stay queued and the CRL is not re-signed until it is');
    void this.d.token.whenReady().then(() => {
      this.waitingForToken = false;
      this.nudge('token ready');
    });
  }

  private pruneDone(now: number): void {
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    const removed = pruneDoneEntries(this.d.queue, now - DONE_KEEP_MS);
    if (removed > 0) this.d.log.info({ event: 'revocation.pruned', removed }, `removed ${removed} old done entries`);
  }
}
