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
import { contextConstructed, enumerated, generalizedTime, integerFromContent, sequence, sequenceOfList, smallInteger, TAG, time, timeLength, writeTime } from './der.js';
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
  if (cert.compromisedAt === undefined) {
    const extensions = reasonOnlyExtensions(cert.reason);
    return writtenEntry(cert.serial, cert.revokedAt, extensions) ?? sequence(serialInteger(cert.serial), time(cert.revokedAt), ...(extensions ? [extensions] : []));
  }
  const reason = cert.reason === 'unspecified' ? [] : [reasonExtension(cert.reason)];
  return sequence(serialInteger(cert.serial), time(cert.revokedAt), sequence(...reason, extension(OID.invalidityDate, false, generalizedTime(cert.compromisedAt))));
}

const serialInteger = (serial: SerialHex): Buffer => integerFromContent(serialIntegerContent(serial));

/**
 * An entry without a compromise time (nearly all of them) written in place into one buffer, the same bytes as
 * its parts put together: the first CRL after a start encodes every revoked entry, 100,000 of them in a large
 * CA, and building each from parts took seven small buffers. Null, for the parts to be put together, when the
 * serial is not whole bytes of hex or the entry's length would take more than one byte (a serial of over 40
 * bytes, which serial.ts never spells).
 */
function writtenEntry(serial: SerialHex, revokedAt: number, extensions: Buffer | null): Buffer | null {
  const magnitude = serial.length >> 1;
  // A leading 00 keeps the INTEGER positive when the serial's top bit is set.
  const pad = Number.parseInt(serial[0] ?? '', 16) >= 8 ? 1 : 0;
  const content = 2 + pad + magnitude + timeLength(revokedAt) + (extensions?.length ?? 0);
  if (magnitude === 0 || serial.length !== 2 * magnitude || content >= 0x80) return null;
  const out = Buffer.allocUnsafe(2 + content);
  out[0] = TAG.sequence;
  out[1] = content;
  out[2] = TAG.integer;
  out[3] = pad + magnitude;
  if (pad) out[4] = 0;
  if (out.write(serial, 4 + pad, 'hex') !== magnitude) return null;
  const at = writeTime(out, 4 + pad + magnitude, revokedAt);
  extensions?.copy(out, at);
  return out;
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
