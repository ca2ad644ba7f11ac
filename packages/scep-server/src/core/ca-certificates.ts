/**
 * GetCACert (RFC 8894 §4.2): with an RA, the RA certificate and the CA chain
 * as a certs-only SignedData (application/x-x509-ca-ra-cert); a single
 * certificate goes out bare (application/x-x509-ca-cert), the form for a CA
 * that answers without an RA.
 *
 * GetNextCACert: a CA advertises it only while it has a rollover certificate
 * (RFC 8894 §4.6.1). There is none, so GetCACaps leaves it out, and a client
 * asking anyway gets 404 Not Found: there is no next CA certificate.
 */
import { certificatesOnly } from './degenerate-signed-data.js';
import type { HttpAnswer } from './http-answer.js';

/** `certificates`: the RA certificate first, then the CA chain upwards. */
export function caCertificatesAnswer(certificates: readonly Buffer[]): HttpAnswer {
  const [only, ...more] = certificates;
  if (only === undefined) throw new Error('GetCACert needs at least one certificate');
  if (more.length === 0) return { status: 200, contentType: 'application/x-x509-ca-cert', body: only };
  return { status: 200, contentType: 'application/x-x509-ca-ra-cert', body: certificatesOnly(certificates) };
}

export function noNextCaCertificateAnswer(): HttpAnswer {
  return { status: 404, contentType: 'text/plain', body: Buffer.from('no rollover CA certificate\n') };
}
