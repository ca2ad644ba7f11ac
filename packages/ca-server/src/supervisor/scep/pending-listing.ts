/** `scep pending`: the waiting workflows as a table or as JSON (one object each, stable field names). */
import type { Config } from '@etoken-ca/contract/core/config';
import { onelineDn } from '@etoken-ca/contract/core/dn';
import type { ScepWorkflow } from '@etoken-ca/contract/core/scep/scep-records';
import { approvalState } from './core/enrollment-rules.js';

interface PendingRow {
  readonly transactionId: string;
  readonly subject: string;
  readonly kind: string;
  readonly authentication: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly eligible: boolean | null;
  readonly approvals: readonly { readonly by: string; readonly at: string }[];
  readonly points: number;
  readonly required: number;
  readonly created: string;
  readonly expires: string;
}

function row(workflow: ScepWorkflow, config: Config): PendingRow {
  const { points, required } = approvalState(workflow, config);
  return {
    transactionId: workflow.txid,
    subject: onelineDn(workflow.subject),
    kind: workflow.kind,
    authentication: workflow.auth,
    dnsNames: workflow.dnsNames,
    ipAddresses: workflow.ipAddresses,
    eligible: workflow.eligible,
    approvals: workflow.approvals.map((a) => ({ by: a.by, at: new Date(a.at).toISOString() })),
    points,
    required,
    created: new Date(workflow.created).toISOString(),
    expires: new Date(workflow.expires).toISOString(),
  };
}

export function pendingJson(workflows: readonly ScepWorkflow[], config: Config): string {
  return `${JSON.stringify(workflows.map((w) => row(w, config)), null, 2)}\n`;
}

export function pendingTable(workflows: readonly ScepWorkflow[], config: Config): string {
  if (workflows.length === 0) return 'no SCEP request is waiting\n';
  const lines = workflows.map((w) => {
    const r = row(w, config);
    const names = [...r.dnsNames, ...r.ipAddresses].join(',') || '-';
    return [r.transactionId, r.subject, names, r.authentication, `${r.points}/${r.required}`, r.expires].join('\t');
  });
  return `${['TRANSACTION', 'SUBJECT', 'NAMES', 'AUTH', 'POINTS', 'EXPIRES'].join('\t')}\n${lines.join('\n')}\n`;
}
