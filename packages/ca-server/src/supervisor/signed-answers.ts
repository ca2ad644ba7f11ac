/**
 * What the supervisor checks of the signer's answers before anything is
 * recorded or handed out: a certificate must be exactly the one the
 * template gives for the request (the supervisor builds the same TBS) under
 * a signature that verifies with the CA public key; a CRL signature must
 * verify over the TBSCertList the supervisor built. A signer that answers
 * anything else is lying or broken.
 */
import { verify } from 'node:crypto';
import type { CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { readCertificateFields } from '@etoken-ca/x509/certificate-fields';
import { assembleSigned } from '@etoken-ca/x509/signed';
import { buildTbs, type CertificateContent, type CertTemplate } from '@etoken-ca/x509/template';

export interface SignedAnswerChecks {
  /** Why `der` is not the certificate asked for, or null when it is. */
  certificate(content: CertificateContent, der: Buffer): string | null;
  crlSignature(tbs: Buffer, signature: Buffer): boolean;
}

export function signedAnswerChecks(template: CertTemplate, ca: CaCertificate): SignedAnswerChecks {
  const signedByCa = (tbs: Buffer, signature: Buffer): boolean => {
    try {
      return verify(template.algorithm.hash, tbs, ca.publicKey, signature);
    } catch {
      return false;
    }
  };
  return {
    certificate(content, der) {
      let expected: Buffer;
      let signature: Buffer;
      try {
        expected = buildTbs(template, content);
        signature = readCertificateFields(der).signature;
      } catch (e) {
        return `not a certificate of this request: ${(e as Error).message}`;
      }
      if (!der.equals(assembleSigned(expected, template.algorithm, signature))) return 'not the certificate the template gives for this request';
      return signedByCa(expected, signature) ? null : 'its signature does not verify with the CA public key';
    },
    crlSignature: signedByCa,
  };
}
