/**
 * One request in, one event out: build from the template, check the
 * invariants, sign on the token, verify the signature with the CA public
 * key, check the token is still the same one. Synchronous from end to end:
 * no async hop per certificate. A CRL comes as a TBSCertList built by the
 * supervisor (which holds the revoked entries): checked to be a CRL of this
 * CA, signed, verified.
 *
 * The signature is verified over the very bytes just checked, not by parsing
 * the assembled certificate again: that parse (OpenSSL, 0.15 ms to 0.4 ms)
 * would sit in the one serial path every issuance waits on. OpenSSL still
 * parses every certificate built from the template in the tests, and the
 * client parses each one before handing it to MyProxy.
 */
import { verify } from 'node:crypto';
import type { SignCertRequest, SignCrlRequest, SignerEvent, SignerRequest } from '../ipc.js';
import { TokenError, type Token } from '../token/token.js';
import type { CaCertificate } from '../x509/ca-certificate.js';
import { assembleSigned } from '../x509/signed.js';
import { createCrlTemplate } from '../x509/crl.js';
import { checkTbsCertList } from '../x509/crl-invariants.js';
import { checkInvariants } from '../x509/invariants.js';
import { CertificateRefused, refuse } from '../x509/refusal.js';
import { buildTbs, type CertTemplate } from '../x509/template.js';

export interface SignerHandler {
  /** One request's event. A signature's tokenOk is provisional until `confirm`. */
  handle(request: SignerRequest): SignerEvent;
  /**
   * One presence check after the last signature among `events` settles the
   * tokenOk of all of them: the token that made them is still the one there.
   * Requests that arrive together share the check (it costs about a tenth of
   * a signature), and none is answered before its check.
   */
  confirm(events: readonly SignerEvent[]): SignerEvent[];
}

export function createSignerHandler(template: CertTemplate, ca: CaCertificate, token: Token, log: (line: string) => void): SignerHandler {
  const crlTemplate = createCrlTemplate(ca);

  /** Both templates sign with the CA key's one algorithm. */
  function signVerified(tbs: Buffer, what: string): Buffer {
    const signature = token.sign(tbs);
    if (!verify(template.algorithm.hash, tbs, ca.publicKey, signature)) refuse(`signed ${what} does not verify with the CA public key`);
    return signature;
  }

  function signCrl(request: SignCrlRequest): SignerEvent {
    checkTbsCertList(request.tbs, crlTemplate);
    const signature = signVerified(request.tbs, 'CRL');
    return { type: 'crl', id: request.id, signature: signature.toString('base64'), tokenOk: true };
  }

  function signCert(request: SignCertRequest): SignerEvent {
    const tbs = buildTbs(template, request);
    checkInvariants(tbs, template.limits);
    const der = assembleSigned(tbs, template.algorithm, signVerified(tbs, 'certificate'));
    return { type: 'cert', id: request.id, der: der.toString('base64'), tokenOk: true };
  }

  function handle(request: SignerRequest): SignerEvent {
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
