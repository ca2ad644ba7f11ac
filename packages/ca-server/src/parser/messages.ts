/**
 * The parser's side of the supervisor protocol (ipc.ts): decoding one
 * ParseRequest line and answering it. A line that is not a well-formed
 * ParseRequest means the supervisor is broken, not that a user is hostile.
 */
import { EtokenError } from '@etoken-ca/contract/exit-codes';
import type { Config } from '@etoken-ca/contract/config';
import type { ParseRequest, ParseResult } from '../ipc.js';
import { parseSpooledRequest } from './parse-request.js';

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

const ID = /^[\x21-\x7e]{1,128}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeParseRequest(line: string): ParseRequest {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    throw new ProtocolError('input line is not JSON');
  }
  const m = message as Partial<Record<keyof ParseRequest, unknown>> | null;
  if (typeof m !== 'object' || m === null || Array.isArray(m) || m.type !== 'parse') {
    throw new ProtocolError('input line is not a parse request');
  }
  if (typeof m.id !== 'string' || !ID.test(m.id)) throw new ProtocolError('parse request has no valid id');
  if (typeof m.data !== 'string' || !BASE64.test(m.data)) throw new ProtocolError('parse request data is not base64');
  return { type: 'parse', id: m.id, data: m.data };
}

/**
 * Every request gets an answer: refused with the one-line reason, or, for an
 * unexpected exception, refused as an internal error reported through `report`.
 */
export function answer(request: ParseRequest, config: Config, report: (error: unknown) => void): ParseResult {
  try {
    const fields = parseSpooledRequest(Buffer.from(request.data, 'base64'), config);
    return { type: 'parsed', id: request.id, fields };
  } catch (e) {
    if (e instanceof EtokenError) return { type: 'refused', id: request.id, reason: e.message };
    report(e);
    return { type: 'refused', id: request.id, reason: 'internal parser error' };
  }
}
