/** Runs the token probe as CA_USER and turns its answer into findings. */
import { fileURLToPath } from 'node:url';
import type { Config } from '@etoken-ca/contract/config';
import type { Account } from '../proc.js';
import type { TokenErrorKind } from '../token/token.js';
import { LineWorker } from '../workers/line-worker.js';
import type { Finding } from './findings.js';

export type TokenProbeResult =
  | { readonly ok: true; readonly label: string; readonly serial: string }
  | { readonly ok: false; readonly kind: TokenErrorKind | 'setup'; readonly reason: string };

const SCRIPT = fileURLToPath(new URL('./token-probe-main.js', import.meta.url));

export function runTokenProbe(config: Config, account: Account): Promise<TokenProbeResult> {
  return new Promise((resolve) => {
    let result: TokenProbeResult | null = null;
    const diagnostics: string[] = [];
    const worker = new LineWorker(
      { name: 'token probe', script: SCRIPT, args: ['--config', config.file], account },
      {
        onMessage: (message) => {
          result = message as TokenProbeResult;
        },
        onDiagnostic: (line) => diagnostics.push(line),
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

export function tokenFindings(result: TokenProbeResult, config: Config): Finding[] {
  if (result.ok) return [];
  if (result.kind === 'setup') return [{ kind: 'config', problem: `as ${config.caUser}: ${result.reason}` }];
  const problem = `token (PKCS11_MODULE ${config.pkcs11Module}): ${result.reason}`;
  return [{ kind: 'token', problem, tokenAbsent: result.kind === 'not-found' }];
}
