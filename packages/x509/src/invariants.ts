/**
 * What must hold of every certificate before it is signed, checked on the
 * encoded TBS itself (not on the inputs), so an encoding slip or a hostile
 * field cannot produce a CA certificate or one that escapes the limits.
 * Pure: any violation throws CertificateRefused with a one-line reason.
 */
import { attributeByOid, checkValue } from '@etoken-ca/contract/core/dn';
import { inNamespace } from '@etoken-ca/contract/core/namespace';
import { checkEmailAddress } from '@etoken-ca/contract/core/email';
import { dnsNameAllowed, ipAllowed } from '@etoken-ca/contract/core/scep/scep-names';
import { KeyUsageBit } from './extensions.js';
import { bytesOf, childrenOf, contentOf, decodeOid, decodeTime, readElement, type DerElement } from './der-reader.js';
import { onelineName, sameName } from './oneline-name.js';
import { OID } from './oids.js';
import { CertificateRefused, refuse, refuseOnThrow } from './refusal.js';
import { checkKeyPolicy, subjectKeyFromSpki } from './subject-key.js';
import type { CertLimits } from './template.js';

const TAG = { boolean: 0x01, integer: 0x02, bitString: 0x03, octetString: 0x04, oid: 0x06, sequence: 0x30, set: 0x31 } as const;

const ALLOWED_EXTENSIONS = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.certificatePolicies,
  OID.crlDistributionPoints,
  OID.subjectAltName,
]);

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The elements of a constructed element of the expected tag. */
function partsOf(der: Buffer, element: DerElement | undefined, tag: number, what: string): DerElement[] {
  if (element?.tag !== tag) return refuse(`${what} is not where it belongs`);
  return childrenOf(der, element);
}

/** Which front end's profile a certificate is checked against: the MyProxy one, or the SCEP one. */
export type CertProfile = 'myproxy' | 'scep';

export function checkInvariants(tbs: Buffer, limits: CertLimits, profile: CertProfile = 'myproxy'): void {
  try {
    checkTbs(tbs, limits, profile);
  } catch (e) {
    if (e instanceof CertificateRefused) throw e;
    refuse(`certificate body is malformed: ${(e as Error).message}`);
  }
}

function checkTbs(tbs: Buffer, limits: CertLimits, profile: CertProfile): void {
  const root = readElement(tbs);
  if (root.end !== tbs.length) refuse('bytes after the certificate body');
  const [version, serial, signature, issuer, validity, subject, spki, extensions, ...more] = partsOf(tbs, root, TAG.sequence, 'TBSCertificate');
  const [versionNumber] = partsOf(tbs, version, 0xa0, 'version');
  if (versionNumber?.tag !== TAG.integer || !contentOf(tbs, versionNumber).equals(Buffer.of(2))) refuse('not an X.509 v3 certificate');
  if (serial?.tag !== TAG.integer) refuse('serial is not an INTEGER');
  checkSerial(contentOf(tbs, serial!));
  if (!signature || !bytesOf(tbs, signature).equals(limits.algorithm)) refuse('signature algorithm differs from the CA key');
  if (!issuer || !bytesOf(tbs, issuer).equals(limits.caSubject)) refuse('issuer differs from the CA subject');
  const [notBefore, notAfter, ...extraTimes] = partsOf(tbs, validity, TAG.sequence, 'validity');
  if (!notBefore || !notAfter || extraTimes.length) refuse('validity is not two times');
  checkValidity(decodeTime(tbs, notBefore!), decodeTime(tbs, notAfter!), limits, profile);
  checkSubject(tbs, partsOf(tbs, subject, TAG.sequence, 'subject'));
  checkNamespace(bytesOf(tbs, subject!), limits, profile);
  if (spki?.tag !== TAG.sequence) refuse('subject public key is not where it belongs');
  checkKeyPolicy(subjectKeyFromSpki(bytesOf(tbs, spki!)), limits);
  if (more.length) refuse('unexpected fields after the extensions');
  const [list, ...extra] = partsOf(tbs, extensions, 0xa3, 'extensions');
  if (!list || extra.length) refuse('extensions are not one SEQUENCE');
  checkExtensions(tbs, partsOf(tbs, list, TAG.sequence, 'extensions'), limits, profile);
}

function checkSerial(serial: Buffer): void {
  if (serial.length === 0 || serial.length > 20) refuse('serial must be 1 to 20 octets');
  if (serial[0]! & 0x80) refuse('serial is negative');
  if (serial.length > 1 && serial[0] === 0 && !(serial[1]! & 0x80)) refuse('serial is not minimally encoded');
  if (serial.every((byte) => byte === 0)) refuse('serial is zero');
}

function checkValidity(notBefore: number, notAfter: number, limits: CertLimits, profile: CertProfile): void {
  if (!(notBefore < notAfter)) refuse('notBefore is not before notAfter');
  if (notAfter > limits.caNotAfter) refuse('notAfter is past the CA certificate notAfter');
  if (profile === 'myproxy' && notAfter - notBefore > limits.maxValidityMs) refuse('validity longer than MAX_LIFETIME plus BACKDATE');
  if (profile === 'scep' && notAfter - notBefore > limits.scep.maxValidityMs) refuse('validity longer than SCEP_LIFETIME_DAYS plus BACKDATE');
}

/** PrintableString, UTF8String and IA5String: the only string types the CA writes. */
function attributeText(der: Buffer, value: DerElement): string | undefined {
  const content = contentOf(der, value);
  if (value.tag === 0x0c) return UTF8.decode(content);
  if (value.tag === 0x13 || value.tag === 0x16) return /^[\x20-\x7e]*$/.test(content.toString('latin1')) ? content.toString('latin1') : undefined;
  return undefined;
}

function checkSubject(der: Buffer, rdns: readonly DerElement[]): void {
  if (rdns.length === 0) refuse('empty subject');
  for (const rdn of rdns) {
    const [atv, ...others] = partsOf(der, rdn, TAG.set, 'RDN');
    if (!atv || others.length) refuse('multi-valued or empty RDN in subject');
    const [typeOid, value, ...rest] = partsOf(der, atv, TAG.sequence, 'attribute');
    if (typeOid?.tag !== TAG.oid || !value || rest.length) refuse('malformed attribute in subject');
    const oid = decodeOid(contentOf(der, typeOid!));
    const type = attributeByOid(oid);
    if (!type) return refuse(`attribute ${oid} not allowed in subject`);
    const text = attributeText(der, value!);
    if (text === undefined) refuse(`${type.name} value has an unexpected string type`);
    refuseOnThrow(() => checkValue(type, text!, true));
  }
}

/** Inside the CA's namespace, and never the CA's own name: whatever the parser or the supervisor said. */
function checkNamespace(subject: Buffer, limits: CertLimits, profile: CertProfile): void {
  if (sameName(subject, limits.caSubject)) refuse("subject equal to the CA's own");
  const oneline = onelineName(subject);
  if (!inNamespace(limits.namespace, oneline)) refuse(`subject ${oneline} outside the CA namespace`);
  if (profile === 'scep' && !inNamespace(limits.scep.subjects, oneline)) refuse(`subject ${oneline} outside SCEP_SUBJECTS`);
}

interface ParsedExtension {
  readonly critical: boolean;
  /** The element inside extnValue. */
  readonly value: DerElement;
}

function parseExtension(der: Buffer, element: DerElement): [string, ParsedExtension] {
  const parts = partsOf(der, element, TAG.sequence, 'extension');
  const [id, ...rest] = parts;
  const critical = rest.length === 2 && rest[0]!.tag === TAG.boolean && contentOf(der, rest[0]!).equals(Buffer.of(0xff));
  const wrapper = rest[rest.length - 1];
  if (id?.tag !== TAG.oid || wrapper?.tag !== TAG.octetString || rest.length > 2 || (rest.length === 2 && !critical)) refuse('malformed extension');
  const value = readElement(der, wrapper!.contentStart, wrapper!.end);
  if (value.end !== wrapper!.end) refuse('bytes after an extension value');
  return [decodeOid(contentOf(der, id!)), { critical, value }];
}

function checkExtensions(der: Buffer, elements: readonly DerElement[], limits: CertLimits, profile: CertProfile): void {
  const byId = new Map<string, ParsedExtension>();
  for (const element of elements) {
    const [id, extension] = parseExtension(der, element);
    if (!ALLOWED_EXTENSIONS.has(id)) refuse(`extension ${id} not allowed`);
    if (byId.has(id)) refuse(`extension ${id} appears twice`);
    byId.set(id, extension);
  }
  const constraints = byId.get(OID.basicConstraints);
  if (!constraints?.critical) refuse('basicConstraints missing or not critical');
  const [cA] = partsOf(der, constraints!.value, TAG.sequence, 'basicConstraints');
  if (cA) refuse('basicConstraints is not CA:FALSE');

  const usage = byId.get(OID.keyUsage);
  if (!usage?.critical || usage.value.tag !== TAG.bitString) refuse('keyUsage missing or not critical');
  // keyCertSign is bit 5 and cRLSign bit 6 of the first octet after the unused-bits count.
  if ((contentOf(der, usage!.value)[1] ?? 0) & 0x06) refuse('keyUsage allows certificate or CRL signing');

  const aki = byId.get(OID.authorityKeyIdentifier);
  const keyId = aki && partsOf(der, aki.value, TAG.sequence, 'authorityKeyIdentifier').find((part) => part.tag === 0x80);
  if (!keyId || !contentOf(der, keyId).equals(limits.caKeyId)) refuse('authorityKeyIdentifier differs from the CA key id');

  const altNames = byId.get(OID.subjectAltName);
  const names = altNames ? partsOf(der, altNames.value, TAG.sequence, 'subjectAltName') : [];
  if (altNames && names.length === 0) refuse('empty subjectAltName');
  if (profile === 'scep') return checkScepExtensions(der, byId, names, limits);
  for (const name of names) {
    if (name.tag !== 0x81) refuse('subjectAltName holds something other than an email');
    refuseOnThrow(() => checkEmailAddress(contentOf(der, name).toString('latin1')));
  }
}

/** The SCEP profile: host names and addresses inside their patterns, usages inside the configured ones. */
function checkScepExtensions(der: Buffer, byId: ReadonlyMap<string, ParsedExtension>, names: readonly DerElement[], limits: CertLimits): void {
  const { scep } = limits;
  for (const name of names) {
    const content = contentOf(der, name);
    if (name.tag === 0x82) {
      const text = content.toString('latin1');
      if (!dnsNameAllowed(scep.dnsNames, text)) refuse(`dNSName ${text} outside SCEP_SAN_DNS`);
    } else if (name.tag === 0x87) {
      if ((content.length !== 4 && content.length !== 16) || !ipAllowed(scep.ipRanges, [...content])) refuse('iPAddress outside SCEP_SAN_IP');
    } else {
      refuse('subjectAltName holds something other than a DNS name or an IP address');
    }
  }
  const eku = byId.get(OID.extKeyUsage);
  const purposes = eku ? partsOf(der, eku.value, TAG.sequence, 'extKeyUsage') : [];
  if (purposes.length === 0) refuse('extKeyUsage missing or empty');
  for (const purpose of purposes) {
    const id = purpose.tag === TAG.oid ? decodeOid(contentOf(der, purpose)) : '';
    if (!scep.ekuOids.includes(id)) refuse(`extended key usage ${id} outside SCEP_EKU`);
  }
  let allowed = 0;
  for (const usage of scep.keyUsage) allowed |= 0x80 >> KeyUsageBit[usage];
  const usageBits = contentOf(der, byId.get(OID.keyUsage)!.value);
  if (usageBits.length > 2 || ((usageBits[1] ?? 0) & ~allowed) !== 0) refuse('keyUsage outside SCEP_KEY_USAGE');
}
