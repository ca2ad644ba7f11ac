/**
 * Builds PKCS#10 requests for the corpus with full control over every field
 * (signature algorithm, subject, requested extensions, signature bytes), so
 * that hostile variants differ from a valid request in one thing only.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { AsnParser, AsnSerializer, OctetString } from '@peculiar/asn1-schema';
import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import {
  AlgorithmIdentifier,
  Attribute,
  AttributeTypeAndValue,
  AttributeValue,
  Extension,
  Extensions,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';

export interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

export const SIGNATURE_OIDS = {
  md5WithRSA: '1.2.840.113549.1.1.4',
  sha1WithRSA: '1.2.840.113549.1.1.5',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  ecdsaWithSha1: '1.2.840.10045.4.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ed25519: '1.3.101.112',
  dsaWithSha256: '2.16.840.1.101.3.4.3.2',
} as const;

export interface CsrOptions {
  readonly key: KeyPair;
  /** Signature algorithm OID written into the CSR. */
  readonly algorithm: string;
  /** Hash given to crypto.sign; null for Ed25519. */
  readonly hash: string | null;
  /** Write NULL parameters into the AlgorithmIdentifier (RSA's usual form). */
  readonly nullParameters?: boolean;
  readonly version?: number;
  /** Changes the signature after signing. */
  readonly tamper?: (signature: Buffer) => Buffer;
}

/** What MyProxy sends: CN=NULL SUBJECT NAME ENTRY and a critical proxyCertInfo extension request. */
export function buildCsr(options: CsrOptions): Buffer {
  const info = new CertificationRequestInfo({
    version: options.version ?? 0,
    subject: commonName('NULL SUBJECT NAME ENTRY'),
    subjectPKInfo: AsnParser.parse(options.key.publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
    attributes: new Attributes([proxyCertInfoRequest()]),
  });
  const infoDer = Buffer.from(AsnSerializer.serialize(info));
  const signature = sign(options.hash, infoDer, options.key.privateKey);
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({
      algorithm: options.algorithm,
      ...(options.nullParameters ? { parameters: null } : {}),
    }),
    signature: new Uint8Array(options.tamper ? options.tamper(signature) : signature).buffer,
  });
  return Buffer.from(AsnSerializer.serialize(csr));
}

export function rsaCsr(key: KeyPair, hash: 'sha1' | 'sha256' | 'sha384' = 'sha256'): Buffer {
  const algorithm = { sha1: SIGNATURE_OIDS.sha1WithRSA, sha256: SIGNATURE_OIDS.sha256WithRSA, sha384: SIGNATURE_OIDS.sha384WithRSA }[hash];
  return buildCsr({ key, algorithm, hash, nullParameters: true });
}

export function ecCsr(key: KeyPair, hash: 'sha256' | 'sha384' = 'sha256'): Buffer {
  const algorithm = hash === 'sha256' ? SIGNATURE_OIDS.ecdsaWithSha256 : SIGNATURE_OIDS.ecdsaWithSha384;
  return buildCsr({ key, algorithm, hash });
}

function commonName(value: string): Name {
  const cn = new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: value }) });
  return new Name([new RelativeDistinguishedName([cn])]);
}

/** RFC 3820 ProxyCertInfo { proxyPolicy { id-ppl-inheritAll } }, as MyProxy requests it. */
function proxyCertInfoRequest(): Attribute {
  const inheritAll = Buffer.from('300c300a06082b06010505071501', 'hex');
  const extension = new Extension({ extnID: '1.3.6.1.5.5.7.1.14', critical: true, extnValue: new OctetString(inheritAll) });
  return new Attribute({ type: '1.2.840.113549.1.9.14', values: [AsnSerializer.serialize(new Extensions([extension]))] });
}

/** Key pairs, generated once per process. */
export const keys = lazy(() => ({
  rsa2048: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  rsa1024: generateKeyPairSync('rsa', { modulusLength: 1024 }),
  rsa512: generateKeyPairSync('rsa', { modulusLength: 512 }),
  rsaExponent3: generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }),
  p256: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }),
  p384: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }),
  p521: generateKeyPairSync('ec', { namedCurve: 'secp521r1' }),
  secp256k1: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }),
  ed25519: generateKeyPairSync('ed25519'),
  dsa: generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }),
}));

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
