/**
 * The certificate template: everything that is the same in every user
 * certificate is encoded once from the config and the CA certificate; per
 * certificate only the serial, validity, subject, key and the key-dependent
 * extensions are encoded around it.
 */
import type { Config } from '@etoken-ca/contract/core/config';
import { normalizeSerial, serialIntegerContent } from '@etoken-ca/contract/core/serial';
import type { Rdn } from '@etoken-ca/contract/core/dn';
import type { Namespace } from '@etoken-ca/contract/core/namespace';
import type { CaCertificate } from './ca-certificate.js';
import { contextConstructed, integerFromContent, sequence, smallInteger, time } from './der.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  certificatePolicies,
  crlDistributionPoints,
  emailAltNames,
  extendedKeyUsage,
  keyIdentifier,
  keyUsage,
  subjectKeyIdentifier,
} from './extensions.js';
import { encodeName } from './name.js';
import { OID } from './oids.js';
import { CertificateRefused, refuse } from './refusal.js';
import { scepAltNames, scepExtensions, scepLimits, type ScepExtensions, type ScepLimits, type ScepNames } from './scep-profile.js';
import { signatureAlgorithm, type SignatureAlgorithm } from './signature-algorithm.js';
import { subjectKeyFromSpki, type KeyPolicy, type SubjectKey } from './subject-key.js';

/** What varies from one certificate to the next. */
export interface CertificateContent {
  readonly serial: string;
  readonly subject: readonly Rdn[];
  readonly emails: readonly string[];
  /** The subject's SubjectPublicKeyInfo, DER. */
  readonly spki: Buffer;
  /** Milliseconds since the epoch (whole seconds). */
  readonly notBefore: number;
  readonly notAfter: number;
  /** Present for a request from the SCEP spool: the SCEP profile and the names it asks for (no emails then). */
  readonly scep?: ScepNames;
}

/** What the invariant checks compare a TBS with. */
export interface CertLimits extends KeyPolicy {
  readonly algorithm: Buffer;
  readonly caSubject: Buffer;
  readonly caKeyId: Buffer;
  readonly caNotAfter: number;
  /** Longest allowed notAfter - notBefore, in milliseconds (MAX_LIFETIME + BACKDATE). */
  readonly maxValidityMs: number;
  /** The subjects the CA signs (SUBJECT_NAMESPACE, else DN_FORMAT's fixed part). */
  readonly namespace: Namespace;
  /** The SCEP profile's own limits, for certificates of SCEP requests. */
  readonly scep: ScepLimits;
}

export interface CertTemplate {
  readonly algorithm: SignatureAlgorithm;
  readonly limits: CertLimits;
  /** [0] EXPLICIT version v3. */
  readonly version: Buffer;
  readonly issuer: Buffer;
  readonly basicConstraints: Buffer;
  readonly rsaKeyUsage: Buffer;
  readonly ecKeyUsage: Buffer;
  readonly extendedKeyUsage: Buffer;
  /** AKI, certificatePolicies and crlDistributionPoints, already concatenated. */
  readonly caExtensions: Buffer;
  readonly scep: ScepExtensions;
}

export function createCertTemplate(config: Config, ca: CaCertificate): CertTemplate {
  const algorithm = signatureAlgorithm(ca.keyType);
  return {
    algorithm,
    limits: {
      algorithm: algorithm.identifier,
      caSubject: ca.subjectDer,
      caKeyId: ca.keyId,
      caNotAfter: ca.notAfter,
      maxValidityMs: (config.maxLifetime + config.backdate) * 1000,
      namespace: config.namespace,
      rsaMinBits: config.rsaMinBits,
      ecCurves: config.ecCurves,
      scep: scepLimits(config),
    },
    version: contextConstructed(0, smallInteger(2)),
    issuer: ca.subjectDer,
    basicConstraints: basicConstraints(false),
    rsaKeyUsage: keyUsage(['digitalSignature', 'keyEncipherment']),
    ecKeyUsage: keyUsage(['digitalSignature']),
    extendedKeyUsage: extendedKeyUsage([OID.clientAuth]),
    caExtensions: Buffer.concat([
      authorityKeyIdentifier(ca.keyId),
      ...(config.caOids.length ? [certificatePolicies(config.caOids)] : []),
      ...(config.crlUrls.length ? [crlDistributionPoints(config.crlUrls)] : []),
    ]),
    scep: scepExtensions(config),
  };
}

/**
 * The TBSCertificate for one request. Throws CertificateRefused on input it
 * cannot encode.
 */
export function buildTbs(template: CertTemplate, request: CertificateContent): Buffer {
  try {
    return encodeTbs(template, request, subjectKeyFromSpki(request.spki));
  } catch (e) {
    if (e instanceof CertificateRefused) throw e;
    return refuse(`cannot encode certificate: ${(e as Error).message}`);
  }
}

function encodeTbs(template: CertTemplate, request: CertificateContent, subjectKey: SubjectKey): Buffer {
  if (normalizeSerial(request.serial) !== request.serial) refuse('serial is not in canonical form');
  const { scep } = request;
  if (scep && request.emails.length > 0) refuse('a SCEP certificate carries no email names');
  const usages = scep ? template.scep : template;
  const extensions = [
    template.basicConstraints,
    subjectKey.type === 'rsa' ? usages.rsaKeyUsage : usages.ecKeyUsage,
    usages.extendedKeyUsage,
    subjectKeyIdentifier(keyIdentifier(subjectKey.subjectPublicKey)),
    template.caExtensions,
    ...(scep ? scepAltNames(scep) : request.emails.length ? [emailAltNames(request.emails)] : []),
  ];
  return sequence(
    template.version,
    integerFromContent(serialIntegerContent(request.serial)),
    template.algorithm.identifier,
    template.issuer,
    sequence(time(request.notBefore), time(request.notAfter)),
    encodeName(request.subject),
    subjectKey.spki,
    contextConstructed(3, sequence(...extensions)),
  );
}
