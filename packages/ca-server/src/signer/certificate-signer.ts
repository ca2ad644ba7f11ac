/**
 * One request in, one event out: build from the template, check the
 * invariants, sign on the token, verify the result, check the token is still
 * the same one. Synchronous from end to end: no async hop per certificate.
 * A CRL comes as a TBSCertList built by the supervisor (which holds the
 * revoked entries): checked to be a CRL of this CA, signed, verified.
 */
import { verify } from 'node:crypto';
import type { SignCertRequest, SignCrlRequest, SignerEvent, SignerRequest } from '../ipc.js';
import { TokenError, type Token } from '../token/token.js';
import type { CaCertificate } from '../x509/ca-certificate.js';
import { assembleCertificate, verifyIssued } from '../x509/certificate.js';
import { createCrlTemplate } from '../x509/crl.js';
import { checkTbsCertList } from '../x509/crl-invariants.js';
import { checkInvariants } from '../x509/invariants.js';
import { CertificateRefused, refuse } from '../x509/refusal.js';
import { subjectKeyFromSpki } from '../x509/subject-key.js';
import { buildTbs, type CertTemplate } from '../x509/template.js';

export type SignerHandler = (request: SignerRequest) => SignerEvent;

export function createSignerHandler(template: CertTemplate, ca: CaCertificate, token: Token, log: (line: string) => void): SignerHandler {
  const crlTemplate = createCrlTemplate(ca);

  function checkAfterSigning(id: string): boolean {
    const presence = token.checkPresence();
    if (!presence.ok) log(`request ${id}: token check after signing failed: ${presence.reason ?? ''}`);
    return presence.ok;
  }

  function signCrl(request: SignCrlRequest): SignerEvent {
    const tbs = request.tbs;
    checkTbsCertList(tbs, crlTemplate);
    const signature = token.sign(tbs);
    if (!verify(crlTemplate.algorithm.hash, tbs, ca.publicKey, signature)) refuse('signed CRL does not verify with the CA public key');
    return { type: 'crl', id: request.id, signature: signature.toString('base64'), tokenOk: checkAfterSigning(request.id) };
  }

  function signCert(request: SignCertRequest): SignerEvent {
    const subjectKey = subjectKeyFromSpki(Buffer.from(request.spki, 'base64'));
    const tbs = buildTbs(template, request, subjectKey);
    checkInvariants(tbs, template.limits, subjectKey);
    const der = assembleCertificate(tbs, template.algorithm, token.sign(tbs));
    verifyIssued(der, ca, request.serial);
    return { type: 'cert', id: request.id, der: der.toString('base64'), tokenOk: checkAfterSigning(request.id) };
  }

  return (request) => {
    if (request.type === 'check') {
      const presence = token.checkPresence();
      return presence.ok ? { type: 'check', id: request.id, ok: true } : { type: 'check', id: request.id, ok: false, reason: presence.reason ?? 'token check failed' };
    }
    try {
      return request.type === 'sign-crl' ? signCrl(request) : signCert(request);
    } catch (e) {
      if (e instanceof CertificateRefused) return { type: 'error', id: request.id, reason: e.message, tokenGone: false };
      if (e instanceof TokenError) return { type: 'error', id: request.id, reason: e.message, tokenGone: e.kind === 'gone' };
      const reason = `internal error: ${(e as Error).message}`.replace(/[\r\n]+/g, ' ');
      log(`request ${request.id}: ${reason}`);
      return { type: 'error', id: request.id, reason, tokenGone: false };
    }
  };
}
