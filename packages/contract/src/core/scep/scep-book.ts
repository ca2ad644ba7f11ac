/**
 * The SCEP state the journal's `scep` records describe: the workflows by
 * transaction id and the unused challenges by hash. Pure; the CA database
 * applies every record to it, so the server, after any restart, and the
 * operator's listing see the same state.
 */
import type { ScepChallenge, ScepRecord, ScepWorkflow } from './scep-records.js';

export class ScepBook {
  private readonly workflows = new Map<string, ScepWorkflow>();
  private readonly challenges = new Map<string, ScepChallenge>();

  apply(record: ScepRecord): void {
    switch (record.step) {
      case 'challenge':
        this.challenges.set(record.challenge.hash, record.challenge);
        return;
      case 'challenge-used':
        this.challenges.delete(record.hash);
        return;
      case 'workflow':
        this.workflows.set(record.workflow.txid, record.workflow);
        return;
      case 'eligibility':
        this.update(record.txid, (w) => ({ ...w, eligible: record.eligible }));
        return;
      case 'approve':
        this.update(record.txid, (w) => ({ ...w, approvals: [...w.approvals, { by: record.by, at: record.at }] }));
        return;
      case 'finish':
        this.update(record.txid, (w) => ({
          ...w,
          state: record.serial !== undefined ? 'issued' : 'failed',
          finished: record.at,
          ...(record.serial !== undefined ? { serial: record.serial } : { failInfo: record.failInfo ?? 'badRequest' }),
          reason: record.reason,
        }));
        return;
    }
  }

  workflow(txid: string): ScepWorkflow | undefined {
    return this.workflows.get(txid);
  }

  /** The unused challenge with this hash, if it has not expired. */
  challenge(hash: string, now: number): ScepChallenge | undefined {
    const found = this.challenges.get(hash);
    return found && found.expires > now ? found : undefined;
  }

  pending(): ScepWorkflow[] {
    return [...this.workflows.values()].filter((w) => w.state === 'pending');
  }

  all(): ScepWorkflow[] {
    return [...this.workflows.values()];
  }

  /** Unused, unexpired challenges (their hashes and subjects only). */
  openChallenges(now: number): ScepChallenge[] {
    return [...this.challenges.values()].filter((c) => c.expires > now);
  }

  /**
   * What a checkpoint writes into the new segment so that nothing live is
   * lost with the old one: each workflow not yet expired, whole, and each
   * unused challenge. Expired entries are dropped here and from memory.
   */
  carryOver(now: number): ScepRecord[] {
    const records: ScepRecord[] = [];
    for (const [txid, workflow] of this.workflows) {
      if (workflow.state !== 'pending' && workflow.expires <= now) this.workflows.delete(txid);
      else records.push({ t: 'scep', step: 'workflow', workflow, at: now });
    }
    for (const [hash, challenge] of this.challenges) {
      if (challenge.expires <= now) this.challenges.delete(hash);
      else records.push({ t: 'scep', step: 'challenge', challenge, at: now });
    }
    return records;
  }

  /**
   * The record that takes an issued workflow back to pending, whole: its
   * certificate was withheld before anyone was told (its flush failed), and
   * the workflow is to be issued again.
   */
  reopened(txid: string, at: number): ScepRecord | null {
    const workflow = this.workflows.get(txid);
    if (workflow?.state !== 'issued') return null;
    const { serial: _serial, finished: _finished, reason: _reason, ...pending } = workflow;
    return { t: 'scep', step: 'workflow', workflow: { ...pending, state: 'pending' }, at };
  }

  private update(txid: string, change: (w: ScepWorkflow) => ScepWorkflow): void {
    const workflow = this.workflows.get(txid);
    if (workflow) this.workflows.set(txid, change(workflow));
  }
}
