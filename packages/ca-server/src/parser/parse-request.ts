/**
 * A spooled request's bytes to plain fields: the one place hostile request
 * bytes are parsed. Pure: no I/O, throws EtokenError (exit 65) with a
 * one-line reason for anything it refuses.
 */
import type { Config } from '@etoken-ca/contract/config';
import { composeSubject } from '@etoken-ca/contract/dn';
import { badRequest } from '@etoken-ca/contract/exit-codes';
import { parseRequest } from '@etoken-ca/contract/request';
import type { ParsedRequest } from '../ipc.js';
import { inspectCsr } from './csr.js';
import { splitUsername } from './username.js';

export function parseSpooledRequest(bytes: Buffer, config: Config): ParsedRequest {
  if (bytes.length > config.maxRequestSize) throw badRequest(`request larger than ${config.maxRequestSize} bytes`);
  const request = parseRequest(bytes);
  const { dn, emails } = splitUsername(request.username);
  const subject = composeSubject(config.dnFormat, dn);
  return {
    subject,
    emails,
    proxyLifetime: request.proxyLifetime,
    maxCertLifetime: request.maxCertLifetime,
    ...inspectCsr(request.csrDer),
  };
}
