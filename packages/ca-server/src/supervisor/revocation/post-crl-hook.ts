/** POST_CRL_COMMAND: run unprivileged (HOOK_USER, HOOK_TIMEOUT) with the CRL number and the published file. */
import type { Config } from '@etoken-ca/contract/core/config';
import { describeOutcome, runUnprivileged } from '../hooks/run-unprivileged.js';
import type { Account } from '../proc.js';
import type { AuditLog } from '../audit-log.js';

export type PostCrlHook = (number: number, path: string) => Promise<void>;

const LOGGED_OUTPUT = 512;

export function postCrlHook(config: Config, account: Account, log: AuditLog): PostCrlHook {
  const program = config.postCrlCommand;
  if (!program) return () => Promise.resolve();
  return async (number, path) => {
    const outcome = await runUnprivileged({ program, args: [String(number), path], account, timeoutMs: config.hookTimeout * 1000 });
    const record = { event: outcome.ok ? ('hook.post-crl' as const) : ('hook.post-crl.failed' as const), crlNumber: number, output: outcome.output.slice(0, LOGGED_OUTPUT) };
    if (outcome.ok) log.info(record, `POST_CRL_COMMAND done for CRL ${number}`);
    else log.warn(record, `POST_CRL_COMMAND failed for CRL ${number}: ${describeOutcome(outcome)}`);
  };
}
