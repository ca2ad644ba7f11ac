/** What the self-audit found wrong, and the exit code that stands for it. */
import { ExitCode } from '@etoken-ca/contract/core/exit-codes';

export interface Finding {
  /** 'token': the PKCS#11 module or the token (exit 69); 'config': anything else (exit 78). */
  readonly kind: 'config' | 'token';
  readonly problem: string;
  /** No token present at all: the server can still start and wait for it. */
  readonly tokenAbsent?: boolean;
}

export const configProblem = (problem: string): Finding => ({ kind: 'config', problem });

/** 78 when anything but the token is wrong, 69 when only the token is. */
export function auditExitCode(findings: readonly Finding[]): ExitCode {
  return findings.some((f) => f.kind === 'config') ? ExitCode.config : ExitCode.unavailable;
}

export function formatFindings(findings: readonly Finding[]): string {
  return `self-audit failed (${findings.length} problem${findings.length === 1 ? '' : 's'}):\n${findings.map((f) => `  - ${f.problem}`).join('\n')}`;
}
