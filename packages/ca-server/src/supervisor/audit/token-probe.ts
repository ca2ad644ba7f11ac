/** Runs the token probe as CA_USER and turns its answer into findings. */
import { fileURLToPath } from 'node:url';
import type { Config } from '@etoken-ca/contract/core/config';
import { readProbeAnswer, type ProbeAnswer } from '@etoken-ca/protocol/probe-messages';
import type { Account } from '../../launch/account.js';
import { FramedWorker } from '../workers/framed-worker.js';
import type { Finding } from './findings.js';

const SCRIPT = fileURLToPath(new URL('../../signer/token-probe-main.js', import.meta.url));

export function runTokenProbe(config: Config, account: Account): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    let result: ProbeAnswer | null = null;
    const diagnostics: string[] = [];
    const worker = new FramedWorker(
      { name: 'token probe', script: SCRIPT, args: ['--config', config.file], account },
      { maxLine: 4096, maxPayload: 0 },
      {
        read: readProbeAnswer,
        onMessage: (message) => {
          result = message;
        },
        onDiagnostic: (line) => diagnostics.push(line),
        onViolation: (v) => diagnostics.push(`its answer broke the protocol: ${v.message}`),
        onExit: (code, signal) => {
          clearTimeout(timer);
          const why = diagnostics.join(' ').slice(0, 500) || `exit ${code ?? signal}`;
          resolve(result ?? { ok: false, kind: 'failed', reason: `the token probe failed: ${why}` });
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
