/**
 * A certificate whose parts go into our own messages as library objects,
 * re-encoded on output (the RA's issuer and serial name the signer of every
 * reply). One whose DER the library would not reproduce byte for byte is
 * refused here, where the caller hands it over, rather than named in a way
 * clients do not recognise.
 */
import { Certificate } from '@peculiar/asn1-x509';
import { AsnParser } from '@peculiar/asn1-schema';
import { derOf } from './der.js';

export function reproducibleCertificate(der: Buffer, what: string): Certificate {
  let certificate: Certificate;
  try {
    certificate = AsnParser.parse(der, Certificate);
  } catch {
    throw new Error(`${what} is not a DER certificate`);
  }
  if (!derOf(certificate).equals(der)) throw new Error(`${what} is not in canonical DER`);
  return certificate;
}
