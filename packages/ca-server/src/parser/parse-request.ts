/**
 * A spooled request's bytes to plain fields: the one place hostile request
 * bytes are decoded as ASN.1. Pure: no I/O, throws EtokenError (exit 65)
 * with a one-line reason for anything it refuses.
 */
import type { Config } from '@etoken-ca/contract/core/config';
import { badRequest } from '@etoken-ca/contract/core/exit-codes';
import { parseRequest } from '@etoken-ca/contract/core/request';
import { requestedName } from '@etoken-ca/contract/core/request-name';
import type { ParsedRequest } from '@etoken-ca/protocol/parser-messages';
import { csrPublicKey } from './csr.js';

export function parseSpooledRequest(bytes: Buffer, config: Config): ParsedRequest {
  if (bytes.length > config.maxRequestSize) throw badRequest(`request larger than ${config.maxRequestSize} bytes`);
  const request = parseRequest(bytes);
  return {
    ...requestedName(request.username, config),
    proxyLifetime: request.proxyLifetime,
    maxCertLifetime: request.maxCertLifetime,
    spki: csrPublicKey(request.csrDer, config),
  };
}
