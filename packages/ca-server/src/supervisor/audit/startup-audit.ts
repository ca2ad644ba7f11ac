/**
 * The self-audit as the server runs it: at start-up before anything else
 * (no PIN prompt, no spool, no worker before it passes), and alone for
 * `--check`. A missing token does not stop a start-up: the server waits for
 * it as it does after a removal; `--check` counts it as a failure.
 */
import type { Config } from '@etoken-ca/contract/core/config';
import { EtokenError } from '@etoken-ca/contract/core/exit-codes';
import { codeRootOf, runningServerPackage } from '../install/runtime-files.js';
import type { AuditLog } from '../audit-log.js';
import { auditExitCode, formatFindings } from './findings.js';
import { selfAudit } from './self-audit.js';
import { runTokenProbe } from './token-probe.js';

export async function auditConfig(config: Config, mode: 'check' | 'start', log: AuditLog): Promise<void> {
  const findings = await selfAudit({ config, codeRoot: codeRootOf(runningServerPackage()), now: Date.now(), probeToken: runTokenProbe });
  const blocking = mode === 'check' ? findings : findings.filter((f) => !f.tokenAbsent);
  for (const f of findings.filter((x) => !blocking.includes(x))) {
    log.warn({ event: 'audit.token-absent', problem: f.problem }, 'no CA token present: waiting for it');
  }
  if (blocking.length === 0) {
    log.info({ event: 'audit.passed', config: config.file }, 'self-audit passed');
    if (mode === 'check') process.stdout.write(`self-audit passed: ${config.file}\n`);
    return;
  }
  const exitCode = auditExitCode(blocking);
  log.error({ event: 'audit.failed', problems: blocking.map((f) => f.problem) }, 'self-audit failed');
  process.stderr.write(`etoken-ca-server: ${formatFindings(blocking)}\n`);
  throw new EtokenError(exitCode, `refusing to ${mode === 'check' ? 'pass the check' : 'start'}: ${blocking.length} problem(s) listed above (exit ${exitCode})`);
}
