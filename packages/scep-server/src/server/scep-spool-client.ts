/**
 * The SCEP front end's side of its spool: each PKIOperation becomes one
 * request entry (the pkiMessage and the content key, see the contract's
 * scep-spool.ts) published under a lock naming this process, and one watch
 * on answers/ wakes whichever request was answered. A request the CA has
 * not answered within the wait is withdrawn (its files removed); whatever
 * the CA recorded of it stays in the CA's journal, where the client's next
 * attempt finds it.
 */
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { ANSWER_SUFFIX, lockFile, requestFile, type SpoolLayout } from '@etoken-ca/contract/core/spool';
import { encodeScepSpoolRequest, parseScepAnswer, type ScepAnswer, type ScepSpoolRequest } from '@etoken-ca/contract/core/scep/scep-spool';
import { createRequestFile, ownLockTarget, publishLock, readAnswerBytes, removeQuietly } from '@etoken-ca/contract/io/spool-files';

/** An answer carries one certificate or a CRL, in base64 inside JSON. */
const MAX_ANSWER_BYTES = 8 << 20;
/** Answers missed by the watch (inotify overflows silently) are found by this poll. */
const SAFETY_POLL_MS = 250;

interface Waiter {
  readonly resolve: (answer: ScepAnswer | null) => void;
  readonly timer: NodeJS.Timeout;
}

export class ScepSpoolClient {
  private readonly waiters = new Map<string, Waiter>();
  private readonly lockTarget = ownLockTarget();
  private watcher: FSWatcher | null = null;
  private poll: NodeJS.Timeout | null = null;

  constructor(private readonly layout: SpoolLayout) {}

  start(): void {
    this.watcher = watch(this.layout.answers, { persistent: false }, (_event, name) => {
      if (name === null) this.checkAll();
      else if (name.endsWith(ANSWER_SUFFIX)) this.check(name.slice(0, -ANSWER_SUFFIX.length));
    });
    this.watcher.on('error', () => this.watcher?.close());
    this.poll = setInterval(() => this.checkAll(), SAFETY_POLL_MS);
    this.poll.unref();
  }

  stop(): void {
    this.watcher?.close();
    if (this.poll) clearInterval(this.poll);
    for (const id of [...this.waiters.keys()]) this.finish(id, null);
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** The CA's answer, or null when none came within `waitMs` (the request is then withdrawn). Throws when it cannot be spooled. */
  submit(request: ScepSpoolRequest, waitMs: number): Promise<ScepAnswer | null> {
    const id = randomBytes(16).toString('hex');
    createRequestFile(this.layout, id, encodeScepSpoolRequest(request));
    const answer = new Promise<ScepAnswer | null>((resolve) => {
      const timer = setTimeout(() => this.finish(id, null), waitMs);
      this.waiters.set(id, { resolve, timer });
    });
    try {
      publishLock(this.layout, id, this.lockTarget);
    } catch (e) {
      this.finish(id, null);
      throw e;
    }
    this.check(id);
    return answer;
  }

  private checkAll(): void {
    for (const id of [...this.waiters.keys()]) this.check(id);
  }

  private check(id: string): void {
    if (!this.waiters.has(id)) return;
    const bytes = readAnswerBytes(this.layout, id, MAX_ANSWER_BYTES);
    const answer = bytes ? parseScepAnswer(bytes.toString('utf8')) : null;
    if (answer) this.finish(id, answer);
  }

  private finish(id: string, answer: ScepAnswer | null): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    clearTimeout(waiter.timer);
    removeQuietly(lockFile(this.layout, id));
    removeQuietly(requestFile(this.layout, id));
    // answers/ is root's: the server's sweeper removes an answer once its lock is gone.
    waiter.resolve(answer);
  }
}
