/** The parser's answer to one request: the fields, or the one-line reason it is refused. */
import type { Config } from '@etoken-ca/contract/core/config';
import { EtokenError } from '@etoken-ca/contract/core/exit-codes';
import type { ParseAnswer, ParseRequest } from '@etoken-ca/protocol/parser-messages';
import { parseSpooledRequest } from './parse-request.js';

/** Every request gets an answer; an unexpected exception is refused as an internal error and reported through `report`. */
export function answer(request: ParseRequest, config: Config, report: (error: unknown) => void): ParseAnswer {
  try {
    return { type: 'parsed', id: request.id, fields: parseSpooledRequest(request.request, config) };
  } catch (e) {
    if (e instanceof EtokenError) return { type: 'refused', id: request.id, reason: e.message };
    report(e);
    return { type: 'refused', id: request.id, reason: 'internal parser error' };
  }
}
