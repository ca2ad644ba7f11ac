/** Runs the token probe as CA_USER and turns its answer into findings. */
import { fileURLToPath } from 'node:url';
import type { Config } from '@etoken-ca/contract/core/config';
import { readProbeAnswer, type ProbeAnswer } from '@etoken-ca/protocol/probe-messages';
import { ProtocolViolation } from '@etoken-ca/protocol/violation';
import type { Account } from '../../launch/account.js';
import { FramedWorker } from '../workers/framed-worker.js';
import type { Finding } from './findings.js';

const SCRIPT = fileURLToPath(new URL('../../signer/token-probe-main.js', import.meta.url));

/**
 * Its one answer, taken only from a probe that kept to the protocol to the end: a second answer, or anything
 * broken after a good one, or a token found by a probe that then failed, voids it.
 */
export function runTokenProbe(config: Config, account: Account): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    let result: ProbeAnswer | null = null;
    let broken = false;
    const diagnostics: string[] = [];
    const worker = new FramedWorker(
      { name: 'token probe', script: SCRIPT, args: ['--config', config.file], account },
      { maxLine: 4096, maxPayload: 0 },
      {
        read: readProbeAnswer,
        onMessage: (message) => {
          if (result) throw new ProtocolViolation('a second answer from the token probe');
          result = message;
        },
        onDiagnostic: (line) => diagnostics.push(line),
        onViolation: (v) => {
          broken = true;
          diagnostics.push(`its answer broke the protocol: ${v.message}`);
        },
        onExit: (code, signal) => {
          clearTimeout(timer);
          const why = diagnostics.join(' ').slice(0, 500) || `exit ${code ?? signal}`;
          const kept = !broken && (!result?.ok || code === 0);
          resolve(kept && result ? result : { ok: false, kind: 'failed', reason: `the token probe failed: ${why}` });
        },
      },
    );
    worker.end();
    // A module stuck in its driver: the same limit as for the signer.
    const timer = setTimeout(() => worker.kill(), config.signerTimeout * 1000);
  });
}

export function tokenFindings(result: ProbeAnswer, config: Config): Finding[] {
  if (result.ok) return [];
  if (result.kind === 'setup') return [{ kind: 'config', problem: `as ${config.caUser}: ${result.reason}` }];
  const problem = `token (PKCS11_MODULE ${config.pkcs11Module}): ${result.reason}`;
  return [{ kind: 'token', problem, tokenAbsent: result.kind === 'not-found' }];
}
