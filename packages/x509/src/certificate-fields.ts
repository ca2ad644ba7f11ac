/**
 * A Certificate's fields as byte ranges of its DER, found with the one DER
 * reader: what the checks compare (TBS, issuer, subject, key) and what a
 * signature verification needs (the TBS bytes, the algorithm, the signature).
 * Nothing is re-encoded, so equal fields are equal bytes.
 */
import { bytesOf, childrenOf, contentOf, decodeOid, decodeTime, readElement, type DerElement } from './der-reader.js';
import { OID } from './oids.js';
import { onelineName } from './oneline-name.js';

export interface CertificateFields {
  readonly tbs: Buffer;
  readonly signatureAlgorithm: Buffer;
  /** The signatureValue BIT STRING's bits (no unused-bits octet). */
  readonly signature: Buffer;
  /** The serial INTEGER's content octets. */
  readonly serial: Buffer;
  readonly issuer: Buffer;
  readonly subject: Buffer;
  readonly notBefore: number;
  readonly notAfter: number;
  /** The SubjectPublicKeyInfo element. */
  readonly spki: Buffer;
  /** The subjectPublicKey BIT STRING's bits. */
  readonly subjectPublicKey: Buffer;
  /** extnValue contents by extension OID. */
  readonly extensions: ReadonlyMap<string, Buffer>;
}

const SEQUENCE = 0x30;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;

function malformed(why: string): never {
  throw new Error(`not a DER certificate: ${why}`);
}

function bitsOf(der: Buffer, element: DerElement | undefined): Buffer {
  if (element?.tag !== BIT_STRING) return malformed('expected a BIT STRING');
  const content = contentOf(der, element);
  if (content[0] !== 0) malformed('BIT STRING with unused bits');
  return content.subarray(1);
}

function extensionsOf(der: Buffer, wrapper: DerElement | undefined): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  if (!wrapper) return found;
  const [list] = childrenOf(der, wrapper);
  if (list?.tag !== SEQUENCE) return malformed('extensions are not a SEQUENCE');
  for (const extension of childrenOf(der, list)) {
    const parts = childrenOf(der, extension);
    const id = parts[0];
    const value = parts[parts.length - 1];
    if (!id || value?.tag !== OCTET_STRING) malformed('malformed extension');
    const oid = decodeOid(contentOf(der, id!));
    if (found.has(oid)) malformed(`extension ${oid} appears twice`);
    found.set(oid, contentOf(der, value!));
  }
  return found;
}

export function readCertificateFields(der: Buffer): CertificateFields {
  const root = readElement(der);
  if (root.tag !== SEQUENCE || root.end !== der.length) malformed('trailing bytes or not a SEQUENCE');
  const [tbs, algorithm, signature, ...rest] = childrenOf(der, root);
  if (tbs?.tag !== SEQUENCE || algorithm?.tag !== SEQUENCE || rest.length) malformed('not three fields');
  const fields = childrenOf(der, tbs!);
  const at = fields[0]?.tag === 0xa0 ? 1 : 0;
  const [serial, , issuer, validity, subject, spki] = fields.slice(at);
  if (!serial || !issuer || validity?.tag !== SEQUENCE || !subject || spki?.tag !== SEQUENCE) malformed('TBSCertificate fields missing');
  const [notBefore, notAfter] = childrenOf(der, validity!);
  if (!notBefore || !notAfter) malformed('validity is not two times');
  const [, subjectPublicKey] = childrenOf(der, spki!);
  return {
    tbs: bytesOf(der, tbs!),
    signatureAlgorithm: bytesOf(der, algorithm!),
    signature: bitsOf(der, signature),
    serial: contentOf(der, serial!),
    issuer: bytesOf(der, issuer!),
    subject: bytesOf(der, subject!),
    notBefore: decodeTime(der, notBefore!),
    notAfter: decodeTime(der, notAfter!),
    spki: bytesOf(der, spki!),
    subjectPublicKey: bitsOf(der, subjectPublicKey),
    extensions: extensionsOf(der, fields.find((f) => f.tag === 0xa3)),
  };
}

/** The subjectKeyIdentifier's key id, when the certificate has one. */
export function subjectKeyIdOf(fields: CertificateFields): Buffer | undefined {
  const value = fields.extensions.get(OID.subjectKeyIdentifier);
  if (!value) return undefined;
  const id = readElement(value);
  if (id.tag !== OCTET_STRING || id.end !== value.length) malformed('subjectKeyIdentifier is not an OCTET STRING');
  return contentOf(value, id);
}

/** A certificate's subject as the CA database spells it (index.txt, listings, filters, per-subject counts). */
export const databaseSubjectOf = (der: Buffer): string => onelineName(readCertificateFields(der).subject);
