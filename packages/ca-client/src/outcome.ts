/** How the client ends: an exit code and at most one line for MyProxy's log. */
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import type { Answer } from '@etoken-ca/contract/core/spool';
import type { CertificateCheck } from './certificate-check.js';
import type { StopReason } from './stop-reason.js';

export interface Outcome {
  readonly exit: number;
  /** Written to stderr as `etoken-ca: <message>`. */
  readonly message?: string;
}

/** The exit codes a refusal from the server may carry; anything else reads as a refused request. */
const REFUSAL_EXITS: ReadonlySet<number> = new Set([
  ExitCode.dataError,
  ExitCode.unavailable,
  ExitCode.software,
  ExitCode.tempFail,
  ExitCode.noPermission,
]);
const MAX_MESSAGE_LENGTH = 500;

export const MISMATCH_MESSAGE = 'certificate from etoken-ca-server does not match the request';

export function refusalExit(exit: number): number {
  return REFUSAL_EXITS.has(exit) ? exit : ExitCode.dataError;
}

/** One short line: MyProxy logs stderr as one line, and the reason is the server's text, not ours. */
export function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim().slice(0, MAX_MESSAGE_LENGTH);
}

/** Hands a checked certificate to `print`; a certificate that fails the check is never printed. */
export function deliverAnswer(answer: Answer, check: CertificateCheck, print: (pem: string) => void): Outcome {
  if (answer.status === 'refused') {
    return { exit: refusalExit(answer.exit), message: oneLine(answer.reason) || 'request refused' };
  }
  const pem = check(answer.pem);
  if (!pem) return { exit: ExitCode.software, message: MISMATCH_MESSAGE };
  print(pem);
  return { exit: ExitCode.ok };
}

export function stoppedOutcome(reason: StopReason, waitingFor: 'request' | 'answer'): Outcome {
  if (reason.kind === 'signal') return { exit: ExitCode.tempFail, message: `stopped by ${reason.signal}` };
  const what = waitingFor === 'answer' ? 'no answer from etoken-ca-server' : 'no complete request on stdin';
  return { exit: ExitCode.tempFail, message: `${what} within ${reason.seconds} s` };
}

export function errorOutcome(error: unknown): Outcome {
  if (error instanceof EtokenError) return { exit: error.exitCode, message: error.message };
  return { exit: ExitCode.software, message: `internal error: ${oneLine(String((error as Error)?.message ?? error))}` };
}
