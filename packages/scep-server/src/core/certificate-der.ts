/**
 * Certificates we put into our own messages travel as library objects,
 * which are re-encoded on output. A certificate whose DER the library would
 * not reproduce byte for byte is refused here, where the caller hands it
 * over, rather than going out with a broken signature.
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
