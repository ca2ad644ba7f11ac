import { IssuerAndSerialNumber } from '@peculiar/asn1-cms';
import { AsnSerializer } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';
import { describe, expect, it } from 'vitest';
import { derOf } from './der.js';
import { ScepError } from './fail-info.js';
import { readIssuerAndSerial, readIssuerAndSubject } from './request-contents.js';

const name = (cn: string): Name =>
  new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: cn }) })])]);

describe('the inner content of CertPoll, GetCert and GetCRL', () => {
  it('names the certificate by issuer and serial, the serial as openssl ca writes it', () => {
    const withSignByte = new IssuerAndSerialNumber({ issuer: name('CA'), serialNumber: Uint8Array.of(0x00, 0x9a, 0x0b).buffer });
    expect(readIssuerAndSerial(derOf(withSignByte))).toEqual({ issuer: derOf(name('CA')), serialNumber: '9A0B' });
    const small = new IssuerAndSerialNumber({ issuer: name('CA'), serialNumber: Uint8Array.of(0x01).buffer });
    expect(readIssuerAndSerial(derOf(small)).serialNumber).toBe('01');
  });

  it('names a pending request by issuer and subject', () => {
    const der = Buffer.from(new asn1js.Sequence({ value: [asn1js.fromBER(AsnSerializer.serialize(name('CA'))).result, asn1js.fromBER(AsnSerializer.serialize(name('host'))).result] }).toBER());
    expect(readIssuerAndSubject(der)).toEqual({ issuer: derOf(name('CA')), subject: derOf(name('host')) });
  });

  it('refuses anything else as badRequest', () => {
    expect(() => readIssuerAndSubject(derOf(name('CA')))).toThrow(ScepError);
    expect(() => readIssuerAndSerial(Buffer.of(0x30, 0x00))).toThrow(ScepError);
  });
});
