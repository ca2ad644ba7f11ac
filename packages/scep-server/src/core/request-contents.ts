/**
 * What the envelope holds for the messages that do not carry a CSR
 * (RFC 8894 §3.3.3, §3.3.4): CertPoll names the pending request by issuer
 * and subject, GetCert and GetCRL name a certificate by issuer and serial.
 */
import { IssuerAndSerialNumber } from '@peculiar/asn1-cms';
import { AsnProp } from '@peculiar/asn1-schema';
import { Name } from '@peculiar/asn1-x509';
import { bufferOf, derOf, parseExactly } from './der.js';

/** IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name } */
class IssuerAndSubjectSchema {
  issuer = new Name();
  subject = new Name();
}
AsnProp({ type: Name })(IssuerAndSubjectSchema.prototype, 'issuer');
AsnProp({ type: Name })(IssuerAndSubjectSchema.prototype, 'subject');

export interface IssuerAndSubject {
  /** DER of each Name. */
  readonly issuer: Buffer;
  readonly subject: Buffer;
}

export interface IssuerAndSerial {
  /** DER of the issuer Name. */
  readonly issuer: Buffer;
  /** Uppercase hex without a sign byte, as `openssl ca` names certificates. */
  readonly serialNumber: string;
}

export function readIssuerAndSubject(der: Buffer): IssuerAndSubject {
  const { issuer, subject } = parseExactly(der, IssuerAndSubjectSchema, 'the IssuerAndSubject');
  return { issuer: derOf(issuer), subject: derOf(subject) };
}

export function readIssuerAndSerial(der: Buffer): IssuerAndSerial {
  const { issuer, serialNumber } = parseExactly(der, IssuerAndSerialNumber, 'the IssuerAndSerialNumber');
  const serial = bufferOf(serialNumber);
  const unsigned = serial.length > 1 && serial[0] === 0 ? serial.subarray(1) : serial;
  return { issuer: derOf(issuer), serialNumber: unsigned.toString('hex').toUpperCase() };
}
