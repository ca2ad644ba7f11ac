/**
 * The certificate's validity period. notAfter is the earliest of the
 * requested proxy lifetime, MAX_LIFETIME, MyProxy's max_cert_lifetime (when
 * set) and the CA certificate's own notAfter: long lifetimes are capped, not
 * refused. Pure; times in milliseconds, whole seconds as X.509 stores them.
 */
import type { Config } from '@etoken-ca/contract/core/config';
import { badRequest } from '@etoken-ca/contract/core/exit-codes';

export interface ValidityInput {
  readonly now: Date;
  /** Seconds. */
  readonly proxyLifetime: number;
  /** Seconds; 0: MyProxy sets no maximum. */
  readonly maxCertLifetime: number;
  readonly config: Pick<Config, 'backdate' | 'maxLifetime'>;
  readonly caNotAfter: Date;
}

export interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

const SECOND = 1000;

export function computeValidity(input: ValidityInput): Validity {
  const now = wholeSeconds(input.now.getTime());
  const limits = [input.proxyLifetime, input.config.maxLifetime];
  if (input.maxCertLifetime > 0) limits.push(input.maxCertLifetime);
  const notAfter = Math.min(...limits.map((seconds) => now + seconds * SECOND), wholeSeconds(input.caNotAfter.getTime()));
  if (notAfter <= now) throw badRequest('CA certificate has expired');
  return { notBefore: now - input.config.backdate * SECOND, notAfter };
}

function wholeSeconds(ms: number): number {
  return Math.floor(ms / SECOND) * SECOND;
}
