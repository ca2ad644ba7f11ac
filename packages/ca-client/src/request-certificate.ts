/**
 * One request through the spool: create the request file, watch for the
 * answer, publish the lock, wait, check, print. Whatever happens, the lock
 * and the request file are removed before this returns.
 */
import type { CertificateCheck } from './certificate-check.js';
import type { Clock, SpoolPort } from './ports.js';
import type { PreparedRequest } from './prepare-request.js';
import { deliverAnswer, stoppedOutcome, type Outcome } from './outcome.js';
import { stopReason } from './stop-reason.js';
import { waitForAnswer, type AnswerWait } from './wait-for-answer.js';

export interface ClientPorts {
  readonly spool: SpoolPort;
  readonly clock: Clock;
  readonly newRequestId: () => string;
  /** This process as the lock's target: "<pid>.<starttime>". */
  readonly lockTarget: string;
  /** Writes the certificate to stdout, completely, before the files are removed. */
  readonly printCertificate: (pem: string) => void;
  /**
   * The check for the answer, made from the CSR's key once the request is published: loading
   * node:crypto and decoding take milliseconds the server can already use. Throws EtokenError
   * (a CA certificate or key it cannot read), which withdraws the request.
   */
  readonly certificateCheck: (request: PreparedRequest) => Promise<CertificateCheck>;
}

/** Spool failures and a failed certificateCheck are thrown as EtokenError (nothing of ours is left behind); everything else is an Outcome. */
export async function requestCertificate(request: PreparedRequest, ports: ClientPorts, signal: AbortSignal): Promise<Outcome> {
  const { spool } = ports;
  const id = ports.newRequestId();
  spool.createRequest(id, request.spoolBytes);
  let waiting: AnswerWait | undefined;
  let published = false;
  try {
    waiting = waitForAnswer(spool, ports.clock, id, signal);
    spool.publishLock(id, ports.lockTarget);
    published = true;
    waiting.checkNow();
    const check = await ports.certificateCheck(request);
    const answer = await waiting.answer;
    if (!answer) return stoppedOutcome(stopReason(signal), 'answer');
    return deliverAnswer(answer, check, ports.printCertificate);
  } finally {
    waiting?.stop();
    // Lock first: once it is gone the server forgets the request, then the request file goes.
    if (published) spool.removeLock(id);
    spool.removeRequest(id);
  }
}
