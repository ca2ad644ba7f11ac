/**
 * One request in, one event out: build from the template, check the
 * invariants, sign on the token, verify the result, check the token is still
 * the same one. Synchronous from end to end: no async hop per certificate.
 */
import type { SignCertRequest, SignerEvent, SignerRequest } from '../ipc.js';
import { TokenError, type Token } from '../token/token.js';
import type { CaCertificate } from '../x509/ca-certificate.js';
import { assembleCertificate, verifyIssued } from '../x509/certificate.js';
import { checkInvariants } from '../x509/invariants.js';
import { CertificateRefused } from '../x509/refusal.js';
import { buildTbs, type CertTemplate } from '../x509/template.js';

export type SignerHandler = (request: SignerRequest) => SignerEvent;

export function createSignerHandler(template: CertTemplate, ca: CaCertificate, token: Token, log: (line: string) => void): SignerHandler {
  function signCert(request: SignCertRequest): SignerEvent {
    const tbs = buildTbs(template, request);
    checkInvariants(tbs, template.limits);
    const der = assembleCertificate(tbs, template.algorithm, token.sign(tbs));
    verifyIssued(der, ca, request.serial);
    const presence = token.checkPresence();
    if (!presence.ok) log(`request ${request.id}: token check after signing failed: ${presence.reason ?? ''}`);
    return { type: 'cert', id: request.id, der: der.toString('base64'), tokenOk: presence.ok };
  }

  return (request) => {
    if (request.type === 'check') {
      const presence = token.checkPresence();
      return presence.ok ? { type: 'check', id: request.id, ok: true } : { type: 'check', id: request.id, ok: false, reason: presence.reason ?? 'token check failed' };
    }
    try {
      return signCert(request);
    } catch (e) {
      if (e instanceof CertificateRefused) return { type: 'error', id: request.id, reason: e.message, tokenGone: false };
      if (e instanceof TokenError) return { type: 'error', id: request.id, reason: e.message, tokenGone: e.kind === 'gone' };
      const reason = `internal error: ${(e as Error).message}`.replace(/[\r\n]+/g, ' ');
      log(`request ${request.id}: ${reason}`);
      return { type: 'error', id: request.id, reason, tokenGone: false };
    }
  };
}
