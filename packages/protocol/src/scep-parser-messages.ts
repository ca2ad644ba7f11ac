/**
 * The supervisor and the request parser, for the SCEP spool: one spool
 * entry's bytes in (the pkiMessage and the content key the front end
 * recovered), plain fields or a refusal with its SCEP failInfo out. The
 * parser verifies the CMS signature, opens the envelope and reads the CSR;
 * the supervisor decides on the fields (challenge, renewal signer, profile)
 * and never decodes the message itself.
 */
import type { Rdn } from '@etoken-ca/contract/core/dn';
import { SCEP_FAIL_INFOS, type ScepFailInfo } from '@etoken-ca/contract/core/scep/scep-spool';
import { idOf, MessageFields, MAX_REASON } from './fields.js';
import { encodeFrame, type Frame } from './frames.js';
import { MAX_REQUEST_BYTES } from './parser-messages.js';
import { ProtocolViolation } from './violation.js';

export const SCEP_MESSAGE_TYPES = ['PKCSReq', 'RenewalReq', 'CertPoll', 'GetCert', 'GetCRL'] as const;
export type ScepMessageType = (typeof SCEP_MESSAGE_TYPES)[number];

/** supervisor -> parser: the SCEP spool entry's bytes follow the line. */
export interface ScepParseRequest {
  readonly type: 'parse-scep';
  readonly id: string;
  readonly request: Buffer;
}

/** What a CSR asks for, after its signature and the technical policy (key, hash) checked out. */
export interface ScepCsrFields {
  readonly subject: readonly Rdn[];
  /** SubjectPublicKeyInfo, DER. */
  readonly spki: Buffer;
  readonly challengePassword: string | null;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** SHA-256 of the CSR's DER, hex: what makes a repeated transaction the same request. */
  readonly digest: string;
}

export interface ParsedScepMessage {
  readonly messageType: ScepMessageType;
  readonly transactionId: string;
  /** The certificate that signed the message (DER), self-signed for a first enrollment. */
  readonly signerCertificate: Buffer;
  readonly signerSelfSigned: boolean;
  /** Its serial as `openssl ca` names certificates (uppercase hex). */
  readonly signerSerial: string;
  /** PKCSReq, RenewalReq. */
  readonly csr?: ScepCsrFields;
  /** GetCert, GetCRL: the serial named. */
  readonly serial?: string;
}

/** parser -> supervisor */
export type ScepParseAnswer =
  | { readonly type: 'scep-parsed'; readonly id: string; readonly message: ParsedScepMessage }
  | { readonly type: 'scep-refused'; readonly id: string; readonly failInfo: ScepFailInfo; readonly reason: string };

const MAX_CERTIFICATE = 16 * 1024;
const MAX_SPKI = 4096;
const MAX_TRANSACTION_ID = 255;
const MAX_CHALLENGE = 255;
const MAX_NAMES = 100;
/** Serials of this CA are at most 20 bytes; a self-signed client certificate may carry a longer one. */
const MAX_SERIAL_HEX = 128;
const SERIAL = /^[0-9A-F]{1,128}$/;
const PRINTABLE = /^[\x20-\x7e]+$/;

export function encodeScepParseRequest(request: ScepParseRequest): Buffer[] {
  return encodeFrame({ type: 'parse-scep', id: request.id }, request.request);
}

export function readScepParseRequest(frame: Frame): ScepParseRequest {
  if (frame.message.type !== 'parse-scep') throw new ProtocolViolation('not a SCEP parse request');
  const f = new MessageFields(frame.message, 'SCEP parse request', ['id']);
  return { type: 'parse-scep', id: f.requestId(), request: f.payload(frame.payload, MAX_REQUEST_BYTES) };
}

export function encodeScepParseAnswer(answer: ScepParseAnswer): Buffer[] {
  if (answer.type === 'scep-refused') return encodeFrame({ ...answer });
  const { signerCertificate, csr, ...message } = answer.message;
  const csrFields = csr
    ? { subject: csr.subject, spki: csr.spki.toString('base64'), challengePassword: csr.challengePassword, dnsNames: csr.dnsNames, ipAddresses: csr.ipAddresses, digest: csr.digest }
    : {};
  return encodeFrame({ type: 'scep-parsed', id: answer.id, ...message, signerCertificate: signerCertificate.toString('base64'), ...csrFields });
}

const CSR_KEYS = ['subject', 'spki', 'challengePassword', 'dnsNames', 'ipAddresses', 'digest'];

export function readScepParseAnswer(frame: Frame): ScepParseAnswer {
  const { type } = frame.message;
  if (type === 'scep-refused') {
    const f = new MessageFields(frame.message, 'SCEP refusal', ['id', 'failInfo', 'reason']);
    f.none(frame.payload);
    const failInfo = f.string('failInfo', 20);
    if (!(SCEP_FAIL_INFOS as readonly string[]).includes(failInfo)) f.fail('has an unknown failInfo');
    return { type, id: f.requestId(), failInfo: failInfo as ScepFailInfo, reason: f.string('reason', MAX_REASON) };
  }
  if (type !== 'scep-parsed') throw new ProtocolViolation('parser sent an unknown SCEP message', idOf(frame.message));
  const f = new MessageFields(frame.message, 'SCEP parse answer', ['id', 'messageType', 'transactionId', 'signerCertificate', 'signerSelfSigned', 'signerSerial', 'serial', ...CSR_KEYS]);
  f.none(frame.payload);
  const messageType = f.string('messageType', 12) as ScepMessageType;
  if (!SCEP_MESSAGE_TYPES.includes(messageType)) f.fail('has an unknown messageType');
  const transactionId = f.string('transactionId', MAX_TRANSACTION_ID);
  if (!PRINTABLE.test(transactionId)) f.fail('has a transactionId that is not printable');
  const serialField = (key: string): string => {
    const value = f.string(key, MAX_SERIAL_HEX);
    return SERIAL.test(value) ? value : f.fail(`has a ${key} that is not a serial`);
  };
  const enrollment = messageType === 'PKCSReq' || messageType === 'RenewalReq';
  const named = messageType === 'GetCert' || messageType === 'GetCRL';
  const message: ParsedScepMessage = {
    messageType,
    transactionId,
    signerCertificate: f.base64('signerCertificate', MAX_CERTIFICATE),
    signerSelfSigned: f.boolean('signerSelfSigned'),
    signerSerial: serialField('signerSerial'),
    ...(enrollment ? { csr: readCsrFields(f, frame.message) } : {}),
    ...(named ? { serial: serialField('serial') } : {}),
  };
  const unexpected = enrollment ? ['serial'] : named ? CSR_KEYS : [...CSR_KEYS, 'serial'];
  if (unexpected.some((key) => frame.message[key] !== undefined)) f.fail(`carries fields a ${messageType} does not have`);
  return { type, id: f.requestId(), message };
}

function readCsrFields(f: MessageFields, message: Readonly<Record<string, unknown>>): ScepCsrFields {
  const names = (key: string, max: number): string[] =>
    f.list(key, MAX_NAMES, (v) => (typeof v === 'string' && v.length > 0 && v.length <= max && PRINTABLE.test(v) ? v : undefined));
  const challenge = message.challengePassword === null ? null : f.string('challengePassword', MAX_CHALLENGE);
  const digest = f.string('digest', 64);
  if (!/^[0-9a-f]{64}$/.test(digest)) f.fail('has a digest that is not SHA-256 hex');
  return { subject: f.rdns('subject'), spki: f.base64('spki', MAX_SPKI), challengePassword: challenge, dnsNames: names('dnsNames', 253), ipAddresses: names('ipAddresses', 45), digest };
}
