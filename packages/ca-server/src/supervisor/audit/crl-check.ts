/**
 * Is a published CRL this CA's: well-formed, issued by the CA certificate's
 * subject (byte for byte) and signed by its key. Pure.
 */
import { verify } from 'node:crypto';
import type { CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { bytesOf, childrenOf, contentOf, readElement } from '@etoken-ca/x509/der-reader';
import { signatureAlgorithm } from '@etoken-ca/x509/signature-algorithm';

const PEM = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----/;

/** DER from a PEM or DER file. */
export function crlDer(file: Buffer): Buffer {
  const m = PEM.exec(file.toString('latin1'));
  return m ? Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64') : file;
}

/** Why this CRL is not one the CA signed, or null. */
export function crlProblem(der: Buffer, ca: CaCertificate): string | null {
  try {
    const outer = readElement(der);
    if (outer.end !== der.length) return 'trailing bytes after the CRL';
    const [tbs, , signature] = childrenOf(der, outer);
    if (!tbs || !signature || signature.tag !== 0x03) return 'not a CertificateList';
    const fields = childrenOf(der, tbs);
    const issuer = fields[fields[0]?.tag === 0x02 ? 2 : 1];
    if (!issuer || !bytesOf(der, issuer).equals(ca.subjectDer)) return "its issuer is not the CA certificate's subject";
    const bits = contentOf(der, signature);
    if (bits[0] !== 0) return 'malformed signature';
    return verify(signatureAlgorithm(ca.keyType).hash, bytesOf(der, tbs), ca.publicKey, bits.subarray(1)) ? null : 'its signature does not verify with the CA certificate';
  } catch (e) {
    return `unreadable: ${(e as Error).message}`;
  }
}
