/** The parser's answer to one request: the fields, or the one-line reason it is refused. */
import type { X509Certificate } from 'node:crypto';
import type { Config } from '@etoken-ca/contract/core/config';
import { EtokenError } from '@etoken-ca/contract/core/exit-codes';
import type { ParseAnswer, ParseRequest } from '@etoken-ca/protocol/parser-messages';
import type { ScepParseAnswer, ScepParseRequest } from '@etoken-ca/protocol/scep-parser-messages';
import { parseSpooledRequest } from './parse-request.js';
import { parseScepEntry, ScepRefusal } from './scep-message.js';

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

/** The same for an entry of the SCEP spool: refusals carry their SCEP failInfo. */
export function scepAnswer(request: ScepParseRequest, config: Config, ca: X509Certificate, report: (error: unknown) => void): ScepParseAnswer {
  try {
    return { type: 'scep-parsed', id: request.id, message: parseScepEntry(request.request, config, ca, new Date()) };
  } catch (e) {
    if (e instanceof ScepRefusal) return { type: 'scep-refused', id: request.id, failInfo: e.failInfo, reason: e.message };
    report(e);
    return { type: 'scep-refused', id: request.id, failInfo: 'badRequest', reason: 'internal parser error' };
  }
}
