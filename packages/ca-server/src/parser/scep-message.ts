/**
 * A SCEP spool entry, turned into plain fields: the pkiMessage's signature
 * and messageDigest verified with the certificate it carries, its envelope
 * opened with the content key the front end recovered (the parser never
 * holds the RA key), the CSR's signature checked, and the technical policy
 * (OpenXPKI's first stage: key type and size, digest and cipher) applied.
 * Whatever is refused here is refused with its SCEP failInfo.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import type { Config } from '@etoken-ca/contract/core/config';
import { attributeByOid, checkValue, type Rdn } from '@etoken-ca/contract/core/dn';
import { EtokenError } from '@etoken-ca/contract/core/exit-codes';
import { ipBytes, ipText } from '@etoken-ca/contract/core/scep/scep-names';
import { decodeScepSpoolRequest, type ScepFailInfo } from '@etoken-ca/contract/core/scep/scep-spool';
import type { ParsedScepMessage, ScepCsrFields } from '@etoken-ca/protocol/scep-parser-messages';
import { LEGACY_ALGORITHMS, parsePkiMessage, ScepError, STRONG_ALGORITHMS, type CsrFacts, type SubjectAttribute } from '@etoken-ca/scep-server/core/index';

/** How far a request's signingTime may be from this clock (the front end applies the same). */
const MAX_CLOCK_SKEW_MS = 24 * 3_600_000;
const EC_CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384' };

export class ScepRefusal extends Error {
  constructor(
    readonly failInfo: ScepFailInfo,
    message: string,
  ) {
    super(message);
  }
}

export function parseScepEntry(bytes: Buffer, config: Config, caCertificate: X509Certificate, now: Date): ParsedScepMessage {
  const entry = decodeScepSpoolRequest(bytes);
  if (!entry) throw new ScepRefusal('badRequest', 'not a SCEP spool entry');
  let request;
  try {
    request = parsePkiMessage(entry.message, {
      envelopeKey: { contentKey: entry.contentKey },
      policy: config.scepAlgorithms === 'legacy' ? LEGACY_ALGORITHMS : STRONG_ALGORITHMS,
      caCertificates: [caCertificate],
      now,
      maxClockSkewMs: MAX_CLOCK_SKEW_MS,
    });
  } catch (e) {
    if (e instanceof ScepError) throw new ScepRefusal(e.failInfo, e.message);
    throw e;
  }
  const signer = new X509Certificate(request.signerCertificate);
  const common = {
    messageType: request.messageType,
    transactionId: request.transactionId,
    signerCertificate: request.signerCertificate,
    signerSelfSigned: request.signerSelfSigned,
    signerSerial: opensslSerial(signer.serialNumber),
  };
  switch (request.messageType) {
    case 'PKCSReq':
    case 'RenewalReq':
      return { ...common, csr: csrFields(request.csr, config) };
    case 'CertPoll':
      return common;
    case 'GetCert':
    case 'GetCRL':
      return { ...common, serial: request.issuerAndSerial.serialNumber };
  }
}

/** Uppercase hex without leading zero bytes, as `openssl ca` names certificates. */
function opensslSerial(hex: string): string {
  return hex.toUpperCase().replace(/^(00)+(?=.)/, '');
}

function csrFields(csr: CsrFacts, config: Config): ScepCsrFields {
  checkKey(csr.spki, config);
  const { dnsNames, ipAddresses, otherNameTypes } = csr.subjectAltNames;
  if (otherNameTypes.length > 0) throw new ScepRefusal('badRequest', `the CSR asks for subjectAltName kinds the SCEP profile never grants: ${otherNameTypes.join(', ')}`);
  return {
    subject: subjectRdns(csr.subjectRdns),
    spki: csr.spki,
    challengePassword: csr.challengePassword ?? null,
    dnsNames: dnsNames.map((name) => name.toLowerCase()),
    ipAddresses: ipAddresses.map((text) => {
      const bytes = ipBytes(text);
      if (!bytes) throw new ScepRefusal('badRequest', 'the CSR asks for an IP address that does not parse');
      return ipText(bytes);
    }),
    digest: createHash('sha256').update(csr.der).digest('hex'),
  };
}

/** RSA of at least RSA_MIN_BITS, or EC on a curve of EC_CURVES: the same key policy as the MyProxy path. */
function checkKey(spki: Buffer, config: Config): void {
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= config.rsaMinBits) return;
  if (key.asymmetricKeyType === 'ec' && config.ecCurves.includes(EC_CURVES[details.namedCurve ?? ''] ?? '')) return;
  throw new ScepRefusal('badAlg', `the CSR key (${key.asymmetricKeyType ?? 'unknown'} ${details.modulusLength ?? details.namedCurve ?? ''}) is outside the key policy`);
}

/** Single-valued RDNs of the attribute types the CA knows, each value within its bounds. */
function subjectRdns(rdns: readonly (readonly SubjectAttribute[])[]): Rdn[] {
  if (rdns.length === 0) throw new ScepRefusal('badRequest', 'the CSR subject is empty');
  return rdns.map((rdn) => {
    const [attribute, ...more] = rdn;
    if (!attribute || more.length > 0) throw new ScepRefusal('badRequest', 'the CSR subject has a multi-valued RDN');
    const type = attributeByOid(attribute.type);
    if (!type) throw new ScepRefusal('badRequest', `the CSR subject has attribute ${attribute.type}, which the CA does not sign`);
    try {
      checkValue(type, attribute.value);
    } catch (e) {
      if (e instanceof EtokenError) throw new ScepRefusal('badRequest', `the CSR subject: ${e.message}`);
      throw e;
    }
    return { type: type.name, value: attribute.value };
  });
}
