/**
 * The TBSCertificate of a self-signed CA certificate: CA:TRUE and
 * keyCertSign+cRLSign, both critical, and an SKI. The demo and the tests make
 * their CA certificates with it (signed on the token, or with a file key).
 */
import type { Rdn } from '@etoken-ca/contract/core/dn';
import { randomSerial, serialIntegerContent } from '@etoken-ca/contract/core/serial';
import { contextConstructed, integerFromContent, sequence, smallInteger, time } from './der.js';
import { basicConstraints, keyIdentifier, keyUsage, subjectKeyIdentifier } from './extensions.js';
import { encodeName } from './name.js';
import type { SignatureAlgorithm } from './signature-algorithm.js';
import { subjectKeyFromSpki } from './subject-key.js';

export interface CaCertificateContent {
  readonly subject: readonly Rdn[];
  /** The CA key's SubjectPublicKeyInfo, DER. */
  readonly spki: Buffer;
  readonly notBefore: number;
  readonly notAfter: number;
}

export function buildCaTbs(content: CaCertificateContent, algorithm: SignatureAlgorithm): Buffer {
  const key = subjectKeyFromSpki(content.spki);
  const name = encodeName(content.subject);
  return sequence(
    contextConstructed(0, smallInteger(2)),
    integerFromContent(serialIntegerContent(randomSerial())),
    algorithm.identifier,
    name,
    sequence(time(content.notBefore), time(content.notAfter)),
    name,
    key.spki,
    contextConstructed(3, sequence(basicConstraints(true), keyUsage(['keyCertSign', 'cRLSign']), subjectKeyIdentifier(keyIdentifier(key.subjectPublicKey)))),
  );
}
