/** Encoders for the X.509 v3 extensions the CA writes (RFC 5280 4.2). */
import { createHash } from 'node:crypto';
import {
  asciiBytes,
  bitString,
  boolean,
  contextConstructed,
  contextPrimitive,
  oid,
  octetString,
  sequence,
  smallInteger,
} from './der.js';
import { OID } from './oids.js';

export function extension(extnId: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(extnId), boolean(true), octetString(value)) : sequence(oid(extnId), octetString(value));
}

export function basicConstraints(ca: boolean, pathLength?: number): Buffer {
  const body = ca ? [boolean(true), ...(pathLength === undefined ? [] : [smallInteger(pathLength)])] : [];
  return extension(OID.basicConstraints, true, sequence(...body));
}

/** Bit positions of KeyUsage (RFC 5280 4.2.1.3). */
export const KeyUsageBit = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
} as const;
export type KeyUsageName = keyof typeof KeyUsageBit;

/** keyUsage, critical, as a DER named BIT STRING (trailing zero bits dropped). */
export function keyUsage(usages: readonly KeyUsageName[]): Buffer {
  let bits = 0;
  for (const usage of usages) bits |= 0x80 >> KeyUsageBit[usage];
  if (bits === 0) throw new RangeError('keyUsage needs at least one usage');
  let unused = 0;
  while (!(bits & (1 << unused))) unused++;
  return extension(OID.keyUsage, true, bitString(Buffer.of(bits), unused));
}

export function extendedKeyUsage(purposes: readonly string[]): Buffer {
  return extension(OID.extKeyUsage, false, sequence(...purposes.map(oid)));
}

/** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's value. */
export function keyIdentifier(subjectPublicKey: Buffer): Buffer {
  return createHash('sha1').update(subjectPublicKey).digest();
}

export function subjectKeyIdentifier(keyId: Buffer): Buffer {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyId));
}

export function authorityKeyIdentifier(keyId: Buffer): Buffer {
  return extension(OID.authorityKeyIdentifier, false, sequence(contextPrimitive(0, keyId)));
}

/** certificatePolicies: one PolicyInformation per OID, no qualifiers. */
export function certificatePolicies(policyOids: readonly string[]): Buffer {
  return extension(OID.certificatePolicies, false, sequence(...policyOids.map((policy) => sequence(oid(policy)))));
}

/** crlDistributionPoints: one DistributionPoint per URL, as distributionPoint fullName URI. */
export function crlDistributionPoints(urls: readonly string[]): Buffer {
  const uri = (url: string): Buffer => contextPrimitive(6, asciiBytes(url));
  // distributionPoint [0] is explicit (a CHOICE); fullName [0] GeneralNames is implicit.
  return extension(
    OID.crlDistributionPoints,
    false,
    sequence(...urls.map((url) => sequence(contextConstructed(0, contextConstructed(0, uri(url)))))),
  );
}

/** subjectAltName with one rfc822Name per address. */
export function emailAltNames(emails: readonly string[]): Buffer {
  return extension(OID.subjectAltName, false, sequence(...emails.map((email) => contextPrimitive(1, asciiBytes(email)))));
}

/** subjectAltName with dNSNames and iPAddresses (address bytes: 4 for IPv4, 16 for IPv6), as a SCEP certificate carries them. */
export function hostAltNames(dnsNames: readonly string[], ipAddresses: readonly (readonly number[])[]): Buffer {
  return extension(
    OID.subjectAltName,
    false,
    sequence(...dnsNames.map((name) => contextPrimitive(2, asciiBytes(name))), ...ipAddresses.map((address) => contextPrimitive(7, Buffer.from(address)))),
  );
}
