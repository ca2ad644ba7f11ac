/** An in-memory spool: what the client created, what the "server" answered, and a watch the test can fire or break. */
import type { Answer } from '@etoken-ca/contract/core/spool';
import type { SpoolPort } from '../ports.js';
import { spoolFailure } from '../spool-errors.js';

interface Watcher {
  readonly onChange: (name: string | null) => void;
  readonly onBroken: () => void;
}

export class FakeSpool implements SpoolPort {
  /** Spool names (`<id>.req`, `<id>.lock`) to request bytes or lock targets. */
  readonly files = new Map<string, Buffer | string>();
  readonly answers = new Map<string, Answer>();
  /** errno code that createRequest / publishLock / watchAnswers should fail with. */
  failCreate: string | null = null;
  failPublish: string | null = null;
  failWatch: string | null = null;
  canWatch = true;
  answerReads = 0;
  /** Runs after the lock is published, like a server that answers at once. */
  onPublish: (id: string) => void = () => undefined;
  private watcher: Watcher | null = null;

  createRequest(id: string, bytes: Buffer): void {
    if (this.failCreate) throw spoolFailure(this.failCreate, '/spool/incoming');
    if (this.files.has(`${id}.req`)) throw spoolFailure('EEXIST', '/spool/incoming');
    this.files.set(`${id}.req`, Buffer.from(bytes));
  }

  publishLock(id: string, target: string): void {
    if (this.failPublish) throw spoolFailure(this.failPublish, '/spool/incoming');
    this.files.set(`${id}.lock`, target);
    this.onPublish(id);
  }

  watchAnswers(onChange: (name: string | null) => void, onBroken: () => void): { close(): void } | null {
    if (this.failWatch) throw spoolFailure(this.failWatch, '/spool/answers');
    if (!this.canWatch) return null;
    this.watcher = { onChange, onBroken };
    return { close: () => (this.watcher = null) };
  }

  readAnswer(id: string): Answer | null {
    this.answerReads++;
    return this.answers.get(id) ?? null;
  }

  removeLock(id: string): void {
    this.files.delete(`${id}.lock`);
  }

  removeRequest(id: string): void {
    this.files.delete(`${id}.req`);
  }

  get watching(): boolean {
    return this.watcher !== null;
  }

  /** The server's side: an answer appears; `notify` says whether the watch sees it. */
  answer(id: string, answer: Answer, notify = true): void {
    this.answers.set(id, answer);
    if (notify) this.watcher?.onChange(`${id}.answer`);
  }

  notify(name: string | null): void {
    this.watcher?.onChange(name);
  }

  breakWatch(): void {
    const watcher = this.watcher;
    this.watcher = null;
    watcher?.onBroken();
  }
}
