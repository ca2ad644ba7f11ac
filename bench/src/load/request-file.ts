/**
 * One logon's request: what MyProxy writes on the callout's stdin (11
 * key=value lines, a blank line, a fresh RSA-2048 CSR), and what the client
 * spools from it (the passphrase line dropped), the latter in a file the
 * client account can read.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The MyProxy user the bench's requests come from. */
export const BENCH_USERNAME = '/O=Example/CN=Bench User';

export interface BenchRequest {
  /** MyProxy's stdin for the callout. */
  readonly stdin: string;
  /** The spooled form, for the load generator. */
  readonly spoolFile: string;
}

function requestText(username: string, csrPem: string, passphrase: boolean): string {
  const fields = [
    `username=${username}`,
    ...(passphrase ? ['passphrase='] : []),
    'proxy_lifetime=43200',
    ...['retrievers', 'renewers', 'credname', 'creddesc', 'authzcreds', 'keyretrieve', 'trusted_retrievers'].map((k) => `${k}=NULL`),
    'max_cert_lifetime=0',
  ];
  return `${fields.join('\n')}\n\n${csrPem}`;
}

export function newCsr(dir: string): string {
  const keyFile = join(dir, 'bench-user.key');
  return execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-subj', '/CN=NULL SUBJECT NAME ENTRY'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function benchRequest(dir: string, username: string, csrPem: string): BenchRequest {
  const spoolFile = join(dir, 'request.spool');
  writeFileSync(spoolFile, requestText(username, csrPem, false), { mode: 0o644 });
  return { stdin: requestText(username, csrPem, true), spoolFile };
}
