import { IssuerAndSerialNumber } from '@peculiar/asn1-cms';
import type { Certificate } from '@peculiar/asn1-x509';
import { derOf } from './der.js';

/** How CMS names a certificate: by its issuer and serial number. */
export function issuerAndSerialOf(certificate: Certificate): IssuerAndSerialNumber {
  const { issuer, serialNumber } = certificate.tbsCertificate;
  return new IssuerAndSerialNumber({ issuer, serialNumber });
}

export function sameIssuerAndSerial(a: IssuerAndSerialNumber, b: IssuerAndSerialNumber): boolean {
  return derOf(a).equals(derOf(b));
}
