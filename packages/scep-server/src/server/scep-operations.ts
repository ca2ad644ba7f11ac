/**
 * The SCEP operations (RFC 8894 §3.5, §4) of etoken-ca-scep. GetCACaps,
 * GetCACert and GetNextCACert are answered here. A PKIOperation is checked
 * with the RA key (signature, attributes, envelope, content): what fails
 * here gets a CertRep FAILURE, or an HTTP 400 when it cannot even be
 * answered, and never reaches the CA. What passes goes to the CA through
 * the spool, where it is checked again, and the CA's word comes back as
 * the CertRep this front end signs with the RA key.
 */
import type { X509Certificate } from 'node:crypto';
import type { ScepAnswer } from '@etoken-ca/contract/core/scep/scep-spool';
import {
  caCapabilitiesAnswer,
  caCertificatesAnswer,
  decodeGetMessage,
  failureReply,
  noNextCaCertificateAnswer,
  parsePkiMessage,
  pendingReply,
  pkiMessageAnswer,
  ScepError,
  successReply,
  type AlgorithmPolicy,
  type HttpAnswer,
  type PkiRequest,
  type RaCredentials,
} from '@etoken-ca/scep-server/core/index';
import { plainAnswer, type ScepHttpRequest } from './http-server.js';
import type { ScepSpoolClient } from './scep-spool-client.js';

export interface OperationDeps {
  readonly ra: RaCredentials;
  readonly policy: AlgorithmPolicy;
  readonly caCertificate: X509Certificate;
  /** What GetCACert sends: the RA certificate, then the CA's, or the RA's alone. */
  readonly caCertificates: readonly Buffer[];
  readonly spool: ScepSpoolClient;
  readonly answerWaitMs: number;
  readonly maxClockSkewMs: number;
  readonly log: (event: string, details: Record<string, unknown>) => void;
}

export function scepOperations(deps: OperationDeps): (request: ScepHttpRequest) => Promise<HttpAnswer> {
  // Every client asks for it before each enrollment, and it changes only with a restart.
  const caCertificates = caCertificatesAnswer(deps.caCertificates);
  return async ({ method, query, body }) => {
    const operation = query.get('operation');
    switch (operation) {
      case 'GetCACaps':
        return caCapabilitiesAnswer(deps.policy);
      case 'GetCACert':
        return caCertificates;
      case 'GetNextCACert':
        return noNextCaCertificateAnswer();
      case 'PKIOperation':
        return pkiOperation(deps, method === 'POST' ? body : (query.get('message') ?? ''));
      default:
        return plainAnswer(400, 'unknown or missing operation');
    }
  };
}

async function pkiOperation(deps: OperationDeps, sent: Buffer | string): Promise<HttpAnswer> {
  const { ra, log } = deps;
  let request: PkiRequest;
  let message: Buffer;
  try {
    message = typeof sent === 'string' ? decodeGetMessage(sent) : sent;
    request = parsePkiMessage(message, {
      envelopeKey: { ra },
      policy: deps.policy,
      caCertificates: [deps.caCertificate],
      now: new Date(),
      maxClockSkewMs: deps.maxClockSkewMs,
    });
  } catch (error) {
    if (!(error instanceof ScepError)) throw error;
    log('scep.refused', { txid: error.replyTo?.transactionId, failInfo: error.failInfo, reason: error.message });
    if (error.replyTo) return pkiMessageAnswer(failureReply(error.replyTo, error.failInfo, ra));
    return plainAnswer(400, `not a usable pkiMessage: ${error.message}`);
  }
  let answer: ScepAnswer | null;
  try {
    answer = await deps.spool.submit({ contentKey: request.contentKey, message }, deps.answerWaitMs);
  } catch (error) {
    log('scep.spool-failed', { txid: request.transactionId, reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message });
    return plainAnswer(503, 'the CA cannot take requests now; try again later');
  }
  if (answer === null) {
    log('scep.no-answer', { txid: request.transactionId, messageType: request.messageType });
    return plainAnswer(503, 'no answer from the CA in time; try again later');
  }
  log('scep.answered', { txid: request.transactionId, messageType: request.messageType, status: answer.status, ...('failInfo' in answer ? { failInfo: answer.failInfo } : {}) });
  return pkiMessageAnswer(certRep(request, answer, ra));
}

function certRep(request: PkiRequest, answer: ScepAnswer, ra: RaCredentials): Buffer {
  switch (answer.status) {
    case 'PENDING':
      return pendingReply(request, ra);
    case 'FAILURE':
      return failureReply(request, answer.failInfo, ra);
    case 'SUCCESS':
      return 'crl' in answer
        ? successReply(request, { crl: Buffer.from(answer.crl, 'base64') }, ra)
        : successReply(request, { certificates: [Buffer.from(answer.certificate, 'base64')] }, ra);
  }
}
