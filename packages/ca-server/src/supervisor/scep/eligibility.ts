/**
 * OpenXPKI's eligibility stage: SCEP_ELIGIBILITY_COMMAND, run as HOOK_USER
 * with the request as one JSON object on stdin (transaction id, subject,
 * names, how it was authenticated; never a secret), killed after
 * SCEP_ELIGIBILITY_TIMEOUT seconds. Exit 0 is a yes (one approval point);
 * anything else, including a time-out, is a no.
 */
import { onelineDn } from '@etoken-ca/contract/core/dn';
import type { Config } from '@etoken-ca/contract/core/config';
import type { ScepWorkflow } from '@etoken-ca/contract/core/scep/scep-records';
import type { Account } from '../../launch/account.js';
import { describeOutcome, runUnprivileged } from '../hooks/run-unprivileged.js';

export interface Eligibility {
  readonly eligible: boolean;
  readonly why: string;
}

export async function askEligibility(config: Config, account: Account, workflow: ScepWorkflow): Promise<Eligibility> {
  const input = {
    transactionId: workflow.txid,
    kind: workflow.kind,
    subject: onelineDn(workflow.subject),
    dnsNames: workflow.dnsNames,
    ipAddresses: workflow.ipAddresses,
    authentication: workflow.auth,
    signer: workflow.signer ?? null,
    replaces: workflow.replaces ?? null,
  };
  const outcome = await runUnprivileged({
    program: config.scepEligibilityCommand,
    account,
    input: Buffer.from(`${JSON.stringify(input)}\n`),
    timeoutMs: config.scepEligibilityTimeout * 1000,
  });
  const said = outcome.output.trim().split('\n')[0]?.slice(0, 200) ?? '';
  return { eligible: outcome.ok, why: `${describeOutcome(outcome)}${said ? `: ${said}` : ''}` };
}
