/** The parser's answer to one entry of the SCEP spool: the plain fields, or the refusal with its SCEP failInfo. */
import type { X509Certificate } from 'node:crypto';
import type { Config } from '@etoken-ca/contract/core/config';
import type { ScepParseAnswer, ScepParseRequest } from '@etoken-ca/protocol/scep-parser-messages';
import { parseScepEntry, ScepRefusal } from './scep-message.js';

/** Every entry gets an answer; an unexpected exception is refused as an internal error and reported through `report`. */
export function scepAnswer(request: ScepParseRequest, config: Config, ca: X509Certificate, report: (error: unknown) => void): ScepParseAnswer {
  try {
    return { type: 'scep-parsed', id: request.id, message: parseScepEntry(request.request, config, ca, new Date()) };
  } catch (e) {
    if (e instanceof ScepRefusal) return { type: 'scep-refused', id: request.id, failInfo: e.failInfo, reason: e.message };
    report(e);
    return { type: 'scep-refused', id: request.id, failInfo: 'badRequest', reason: 'internal parser error' };
  }
}
