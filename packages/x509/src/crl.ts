/**
 * CRLs (RFC 5280 5): v2, the CA's name and signature algorithm, thisUpdate
 * and nextUpdate, the revoked entries, and the AKI and CRL number
 * extensions. A revoked entry never changes once encoded, so callers keep
 * each entry's DER and a new CRL only concatenates them: one copy of the
 * bytes, no per-entry work beyond the new ones.
 */
import { reasonCode, type RevocationReason } from '@etoken-ca/contract/core/cadb/index-line';
import { serialIntegerContent, type SerialHex } from '@etoken-ca/contract/core/serial';
import type { CaCertificate } from './ca-certificate.js';
import { contextConstructed, enumerated, generalizedTime, integerFromContent, sequence, sequenceOfList, smallInteger, time } from './der.js';
import { authorityKeyIdentifier, extension } from './extensions.js';
import { OID } from './oids.js';
import { signatureAlgorithm, type SignatureAlgorithm } from './signature-algorithm.js';

export interface RevokedCert {
  readonly serial: SerialHex;
  /** Milliseconds since the epoch (encoded in whole seconds). */
  readonly revokedAt: number;
  readonly reason: RevocationReason;
  /** When the key is known or suspected to have been compromised (keyCompromise, CACompromise), in milliseconds. */
  readonly compromisedAt?: number;
}

/**
 * One revokedCertificates entry. `unspecified` carries no reasonCode (RFC 5280 5.3.1); a compromise time
 * becomes an Invalidity Date (5.3.2), in whole seconds, as `openssl ca -gencrl` writes it.
 */
export function encodeRevokedEntry(cert: RevokedCert): Buffer {
  const serial = integerFromContent(serialIntegerContent(cert.serial));
  if (cert.compromisedAt === undefined) {
    const extensions = reasonOnlyExtensions(cert.reason);
    return extensions ? sequence(serial, time(cert.revokedAt), extensions) : sequence(serial, time(cert.revokedAt));
  }
  const reason = cert.reason === 'unspecified' ? [] : [reasonExtension(cert.reason)];
  return sequence(serial, time(cert.revokedAt), sequence(...reason, extension(OID.invalidityDate, false, generalizedTime(cert.compromisedAt))));
}

const reasonExtension = (reason: RevocationReason): Buffer => extension(OID.cRLReason, false, enumerated(reasonCode(reason)));

/** The crlEntryExtensions of an entry with a reason and nothing else, the same bytes for every such entry: encoded once per reason. */
const reasonOnly = new Map<RevocationReason, Buffer | null>();
function reasonOnlyExtensions(reason: RevocationReason): Buffer | null {
  let extensions = reasonOnly.get(reason);
  if (extensions === undefined) {
    extensions = reason === 'unspecified' ? null : sequence(reasonExtension(reason));
    reasonOnly.set(reason, extensions);
  }
  return extensions;
}

/** What every CRL of this CA shares, encoded once. */
export interface CrlTemplate {
  readonly algorithm: SignatureAlgorithm;
  readonly issuer: Buffer;
  readonly keyId: Buffer;
  readonly authorityKeyIdentifier: Buffer;
}

export function createCrlTemplate(ca: CaCertificate): CrlTemplate {
  return {
    algorithm: signatureAlgorithm(ca.keyType),
    issuer: ca.subjectDer,
    keyId: ca.keyId,
    authorityKeyIdentifier: authorityKeyIdentifier(ca.keyId),
  };
}

export interface CrlContent {
  readonly number: number;
  readonly thisUpdate: number;
  readonly nextUpdate: number;
  /** Encoded entries (encodeRevokedEntry) in the order they are to appear, in pieces of one or more entries each. */
  readonly entries: readonly Buffer[];
}

const V2 = smallInteger(1);

/** The TBSCertList to be signed. */
export function buildTbsCertList(template: CrlTemplate, content: CrlContent): Buffer {
  const extensions = contextConstructed(0, sequence(template.authorityKeyIdentifier, extension(OID.cRLNumber, false, smallInteger(content.number))));
  return sequence(
    V2,
    template.algorithm.identifier,
    template.issuer,
    time(content.thisUpdate),
    time(content.nextUpdate),
    // An empty revokedCertificates must be absent, not an empty SEQUENCE.
    ...(content.entries.some((piece) => piece.length > 0) ? [sequenceOfList(content.entries)] : []),
    extensions,
  );
}
