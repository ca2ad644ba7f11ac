/**
 * The `message` parameter of a PKIOperation sent with GET (RFC 8894 §4.1):
 * base64 of the pkiMessage, after the HTTP layer has percent-decoded it.
 * A client that left '+' unescaped finds it turned into a space by the query
 * parser, and some clients break base64 into lines; both are undone here.
 */
import { ScepError } from './fail-info.js';
import { MAX_GET_MESSAGE_CHARS } from './limits.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeGetMessage(parameter: string): Buffer {
  if (parameter.length > MAX_GET_MESSAGE_CHARS) throw new ScepError('badRequest', 'the message parameter is too long');
  const base64 = parameter.replace(/[\r\n]/g, '').replace(/ /g, '+');
  if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64.test(base64)) throw new ScepError('badRequest', 'the message parameter is not base64');
  return Buffer.from(base64, 'base64');
}
