/**
 * One request in, one event out: build from the template, check the
 * invariants, sign on the token, verify the signature with the CA public
 * key, check the token is still the same one. Synchronous from end to end:
 * no async hop per certificate. A CRL comes as a TBSCertList built by the
 * supervisor (which holds the revoked entries): checked to be a CRL of this
 * CA, signed, verified.
 *
 * The signature is verified over the very bytes just checked, not by parsing
 * the assembled certificate again; the supervisor checks the certificate
 * itself once it is back.
 */
import { verify } from 'node:crypto';
import type { LoginRequest, SignCertRequest, SignCrlRequest, SignerEvent, SignerRequest } from '@etoken-ca/protocol/signer-messages';
import type { CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { createCrlTemplate } from '@etoken-ca/x509/crl';
import { checkTbsCertList } from '@etoken-ca/x509/crl-invariants';
import { checkInvariants } from '@etoken-ca/x509/invariants';
import { CertificateRefused, refuse } from '@etoken-ca/x509/refusal';
import { assembleSigned } from '@etoken-ca/x509/signed';
import { buildTbs, type CertTemplate } from '@etoken-ca/x509/template';
import { TokenError, type Token } from './token/token.js';

export interface SignerHandler {
  /**
   * One request's event. A signature's tokenOk is provisional until `confirm`. A device error
   * (CKR_DEVICE_ERROR) fails the request alone when the token is still there and logged in; when
   * it is not, the token is gone.
   */
  handle(request: Exclude<SignerRequest, LoginRequest>): SignerEvent;
  /**
   * One presence check after the last signature among `events` settles the
   * tokenOk of all of them: the token that made them is still the one there.
   * Requests that arrive together share the check, and none is answered
   * before its check.
   */
  confirm(events: readonly SignerEvent[]): SignerEvent[];
}

export function createSignerHandler(template: CertTemplate, ca: CaCertificate, token: Token, log: (line: string) => void): SignerHandler {
  const crlTemplate = createCrlTemplate(ca);

  /** How long the token took over the last signature, µs. */
  let tokenUs = 0;

  /** Both templates sign with the CA key's one algorithm. */
  function signVerified(tbs: Buffer, what: string): Buffer {
    const started = performance.now();
    const signature = token.sign(tbs);
    tokenUs = Math.round((performance.now() - started) * 1000);
    if (!verify(template.algorithm.hash, tbs, ca.publicKey, signature)) refuse(`signed ${what} does not verify with the CA public key`);
    return signature;
  }

  function signCrl(request: SignCrlRequest): SignerEvent {
    checkTbsCertList(request.tbs, crlTemplate);
    const signature = signVerified(request.tbs, 'CRL');
    return { type: 'crl', id: request.id, signature, tokenOk: true, tokenUs };
  }

  function signCert(request: SignCertRequest): SignerEvent {
    const tbs = buildTbs(template, request.content);
    checkInvariants(tbs, template.limits, request.content.scep ? 'scep' : 'myproxy');
    const der = assembleSigned(tbs, template.algorithm, signVerified(tbs, 'certificate'));
    return { type: 'cert', id: request.id, der, tokenOk: true, tokenUs };
  }

  function handle(request: Exclude<SignerRequest, LoginRequest>): SignerEvent {
    if (request.type === 'check') {
      const presence = token.checkPresence();
      return presence.ok ? { type: 'check', id: request.id, ok: true } : { type: 'check', id: request.id, ok: false, reason: presence.reason ?? 'token check failed' };
    }
    try {
      return request.type === 'sign-crl' ? signCrl(request) : signCert(request);
    } catch (e) {
      if (e instanceof CertificateRefused) return { type: 'error', id: request.id, reason: e.message, tokenGone: false };
      if (e instanceof TokenError) return tokenFailure(request.id, e);
      const reason = `internal error: ${(e as Error).message}`.replace(/[\r\n]+/g, ' ');
      log(`request ${request.id}: ${reason}`);
      return { type: 'error', id: request.id, reason, tokenGone: false };
    }
  }

  function tokenFailure(id: string, e: TokenError): SignerEvent {
    if (e.kind !== 'device') return { type: 'error', id, reason: e.message, tokenGone: e.kind === 'gone' };
    // A smart card fails an operation now and then and carries on; pulled out, it fails the same way.
    const presence = token.checkPresence();
    if (presence.ok) return { type: 'error', id, reason: e.message, tokenGone: false, deviceError: true };
    log(`request ${id}: ${e.message}, and the token check after it failed: ${presence.reason ?? ''}`);
    return { type: 'error', id, reason: `${e.message}; ${presence.reason ?? 'token check failed'}`, tokenGone: true };
  }

  function confirm(events: readonly SignerEvent[]): SignerEvent[] {
    if (!events.some((e) => e.type === 'cert' || e.type === 'crl')) return [...events];
    const presence = token.checkPresence();
    if (presence.ok) return [...events];
    return events.map((event) => {
      if (event.type !== 'cert' && event.type !== 'crl') return event;
      log(`request ${event.id}: token check after signing failed: ${presence.reason ?? ''}`);
      return { ...event, tokenOk: false };
    });
  }

  return { handle, confirm };
}
