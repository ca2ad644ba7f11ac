/**
 * The SCEP message layer of etoken-ca-scep: pure functions over bytes and
 * KeyObjects, no I/O. The HTTP server and the spool to the CA build on
 * these and nothing else here.
 */
export { LEGACY_ALGORITHMS, STRONG_ALGORITHMS, type AlgorithmPolicy } from './algorithm-policy.js';
export { caCapabilitiesAnswer } from './ca-capabilities.js';
export { caCertificatesAnswer, noNextCaCertificateAnswer } from './ca-certificates.js';
export { failureReply, pendingReply, successReply, type EnvelopeTo, type Issued } from './cert-rep.js';
export type { ContentCipherName } from './content-ciphers.js';
export type { RequestedNames } from './csr-attributes.js';
export { inspectCsr, type CsrFacts, type SubjectAttribute } from './csr.js';
export type { DigestName } from './digest-algorithms.js';
export { FAIL_INFO_CODES, ScepError, type FailInfo, type ReplyTo } from './fail-info.js';
export { decodeGetMessage } from './get-message.js';
export { pkiMessageAnswer, type HttpAnswer } from './http-answer.js';
export { MAX_PKI_MESSAGE_BYTES } from './limits.js';
export type { RequestMessageType } from './message-types.js';
export { parsePkiMessage, type PkiRequest, type RequestContext } from './pki-message.js';
export { raCredentials, type RaCredentials } from './ra-credentials.js';
export type { IssuerAndSerial, IssuerAndSubject } from './request-contents.js';
