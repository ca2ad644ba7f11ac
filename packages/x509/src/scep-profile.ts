/**
 * The certificate profile of the SCEP front end, as the template encodes it
 * and the invariants check it: subjects inside SCEP_SUBJECTS (and the CA's
 * namespace), dNSName and iPAddress subjectAltNames inside their patterns,
 * the configured extended and key usages, SCEP_LIFETIME_DAYS. The MyProxy
 * profile is the template's own (clientAuth, email names, MAX_LIFETIME).
 */
import type { Config } from '@etoken-ca/contract/core/config';
import type { Namespace } from '@etoken-ca/contract/core/namespace';
import { scepProfileOf, type ScepKeyUsage } from '@etoken-ca/contract/core/scep/scep-config';
import { ipBytes, type IpRange } from '@etoken-ca/contract/core/scep/scep-names';
import { extendedKeyUsage, hostAltNames, keyUsage, type KeyUsageName } from './extensions.js';
import { OID } from './oids.js';
import { refuse } from './refusal.js';

/** What a certificate of the SCEP profile names besides its subject. */
export interface ScepNames {
  readonly dnsNames: readonly string[];
  /** Textual IPv4 or IPv6 addresses. */
  readonly ipAddresses: readonly string[];
}

export interface ScepLimits {
  readonly subjects: Namespace;
  readonly dnsNames: readonly string[];
  readonly ipRanges: readonly IpRange[];
  /** The extended key usages allowed, as OIDs. */
  readonly ekuOids: readonly string[];
  /** The key usages allowed: no others may be set. */
  readonly keyUsage: readonly KeyUsageName[];
  readonly maxValidityMs: number;
}

export interface ScepExtensions {
  readonly rsaKeyUsage: Buffer;
  readonly ecKeyUsage: Buffer;
  readonly extendedKeyUsage: Buffer;
}

const EKU_OIDS = { serverAuth: OID.serverAuth, clientAuth: OID.clientAuth } as const;
/** keyEncipherment is for RSA keys, keyAgreement for EC keys; digitalSignature for both. */
const RSA_USAGES: readonly ScepKeyUsage[] = ['digitalSignature', 'keyEncipherment'];
const EC_USAGES: readonly ScepKeyUsage[] = ['digitalSignature', 'keyAgreement'];

export function scepLimits(config: Config): ScepLimits {
  const profile = scepProfileOf(config);
  return {
    subjects: profile.subjects,
    dnsNames: profile.dnsNames,
    ipRanges: profile.ipRanges,
    ekuOids: profile.eku.map((name) => EKU_OIDS[name]),
    keyUsage: profile.keyUsage,
    maxValidityMs: (profile.lifetimeDays * 86_400 + config.backdate) * 1000,
  };
}

export function scepExtensions(config: Config): ScepExtensions {
  const usages = (fitting: readonly ScepKeyUsage[]): Buffer => {
    const chosen = config.scepKeyUsage.filter((usage) => fitting.includes(usage));
    return keyUsage(chosen.length > 0 ? chosen : ['digitalSignature']);
  };
  return { rsaKeyUsage: usages(RSA_USAGES), ecKeyUsage: usages(EC_USAGES), extendedKeyUsage: extendedKeyUsage(config.scepEku.map((name) => EKU_OIDS[name])) };
}

/** The subjectAltName extension of a SCEP certificate, or none when it names nothing. */
export function scepAltNames(names: ScepNames): Buffer[] {
  if (names.dnsNames.length === 0 && names.ipAddresses.length === 0) return [];
  const addresses = names.ipAddresses.map((text) => ipBytes(text) ?? refuse(`"${text}" is not an IP address`));
  return [hostAltNames(names.dnsNames, addresses)];
}
