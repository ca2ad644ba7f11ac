/**
 * MyProxy checks nothing about the certificate a callout prints, so the
 * client does: it must carry the CSR's public key and be signed by the CA.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';

const spkiDer = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

/** The certificate in `pem` if it is the CA's certificate for `csrPublicKey`, else null. */
export function matchingCertificate(pem: string, csrPublicKey: KeyObject, caCert: X509Certificate): X509Certificate | null {
  try {
    const cert = new X509Certificate(pem);
    // Both keys re-exported by the same code, so equal keys give equal bytes.
    const sameKey = spkiDer(cert.publicKey).equals(spkiDer(csrPublicKey));
    // checkIssued compares names and key identifiers only (cert.checkIssued(issuer), not the other way round); verify checks the signature.
    return sameKey && cert.checkIssued(caCert) && cert.verify(caCert.publicKey) ? cert : null;
  } catch {
    // Unparsable PEM or a key type node:crypto cannot handle: not our certificate either.
    return null;
  }
}
