/**
 * The RA: a software RSA key of the SCEP account and its certificate, issued
 * by the CA. It opens request envelopes and signs replies; it is never the
 * CA key.
 */
import type { IssuerAndSerialNumber } from '@peculiar/asn1-cms';
import type { Certificate } from '@peculiar/asn1-x509';
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { reproducibleCertificate } from './certificate-der.js';
import { issuerAndSerialOf } from './issuer-and-serial.js';

export interface RaCredentials {
  readonly certificateDer: Buffer;
  readonly certificate: Certificate;
  readonly issuerAndSerial: IssuerAndSerialNumber;
  readonly privateKey: KeyObject;
}

export function raCredentials(certificateDer: Buffer, privateKey: KeyObject): RaCredentials {
  const certificate = reproducibleCertificate(certificateDer, 'the RA certificate');
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa') {
    throw new Error('the RA key must be an RSA private key: SCEP clients envelope their requests to it by RSA key transport');
  }
  const certified = new X509Certificate(certificateDer).publicKey.export({ type: 'spki', format: 'der' });
  const own = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (!certified.equals(own)) throw new Error('the RA key does not match the RA certificate');
  return { certificateDer, certificate, issuerAndSerial: issuerAndSerialOf(certificate), privateKey };
}
