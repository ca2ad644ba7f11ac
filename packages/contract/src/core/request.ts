/**
 * The request MyProxy hands its certificate_issuer_program on stdin:
 * `key=value` lines, a blank line, the CSR in PEM. The client checks the
 * syntax with this parser before spooling; the server's parser process checks
 * it again on the spooled bytes. The `passphrase` line is the user's password
 * in clear: it is dropped at once and never stored.
 */
import { badRequest } from './exit-codes.js';

export interface MyProxyRequest {
  readonly username: string;
  /** Seconds; capped later, never refused for being long. */
  readonly proxyLifetime: number;
  /** Seconds; 0 when MyProxy has no max_cert_lifetime. */
  readonly maxCertLifetime: number;
  readonly csrDer: Buffer;
}

const MAX_KEY_LINES = 32;
/** The keys MyProxy 6 writes, in its order; any other key is refused. */
export const REQUEST_KEYS: readonly string[] = [
  'username',
  'passphrase',
  'proxy_lifetime',
  'retrievers',
  'renewers',
  'credname',
  'creddesc',
  'authzcreds',
  'keyretrieve',
  'trusted_retrievers',
  'max_cert_lifetime',
];
// The END line must repeat the BEGIN line's NEW (a backreference to an unset group matches empty).
const PEM = /^-----BEGIN (NEW )?CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END \1CERTIFICATE REQUEST-----[\r\n\t ]*$/;

/** Removes the `passphrase=` line from the raw request and zeroes the input buffer. */
export function dropPassphrase(input: Buffer): Buffer {
  const out: Buffer[] = [];
  let start = 0;
  let inHeader = true;
  while (start < input.length) {
    let end = input.indexOf(0x0a, start);
    end = end < 0 ? input.length : end + 1;
    const line = input.subarray(start, end);
    if (inHeader && line.subarray(0, 11).toString('latin1') === 'passphrase=') {
      // skipped: never copied
    } else {
      out.push(Buffer.from(line));
    }
    if (line.length <= 2 && line.toString('latin1').trim() === '') inHeader = false;
    start = end;
  }
  input.fill(0);
  return Buffer.concat(out);
}

/** A lifetime field: a positive decimal integer (huge values are capped, not refused). */
function lifetime(key: string, raw: string, allowZero: boolean): number {
  if (raw === 'NULL' && allowZero) return 0;
  if (!/^\d{1,30}$/.test(raw)) throw badRequest(`${key} is not a whole number of seconds`);
  const n = Math.min(Number(raw), 2 ** 31);
  if (n === 0 && !allowZero) throw badRequest(`${key} must be positive`);
  return n;
}

export function parseRequest(bytes: Buffer): MyProxyRequest {
  if (bytes.includes(0)) throw badRequest('NUL byte in request');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badRequest('request is not valid UTF-8');
  }
  const blank = text.search(/\r?\n\r?\n/);
  if (blank < 0) throw badRequest('request has no blank line before the CSR');
  const fields = new Map<string, string>();
  const lines = text.slice(0, blank).split(/\r?\n/);
  if (lines.length > MAX_KEY_LINES) throw badRequest('too many request lines');
  lines.forEach((line, index) => {
    const m = /^([a-z_]{1,32})=(.*)$/.exec(line);
    // Named by number, never quoted: a passphrase holding a line break would continue here.
    if (!m) throw badRequest(`malformed request line ${index + 1}`);
    const [, key, value] = m as unknown as [string, string, string];
    if (!REQUEST_KEYS.includes(key)) throw badRequest(`unknown request field ${key}`);
    if (key === 'passphrase') return;
    if (fields.has(key)) throw badRequest(`duplicate request field ${key}`);
    fields.set(key, value);
  });
  const username = fields.get('username');
  if (username === undefined || username === '' || username === 'NULL') throw badRequest('missing username');
  const rawLifetime = fields.get('proxy_lifetime');
  if (rawLifetime === undefined) throw badRequest('missing proxy_lifetime');
  const pem = PEM.exec(text.slice(blank).replace(/^\s+/, ''));
  if (!pem) throw badRequest('CSR is not one PEM CERTIFICATE REQUEST block');
  const body = pem[2]!.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw badRequest('CSR is not valid base64');
  const csrDer = Buffer.from(body, 'base64');
  if (csrDer.length < 64) throw badRequest('CSR too short');
  return {
    username,
    proxyLifetime: lifetime('proxy_lifetime', rawLifetime, false),
    maxCertLifetime: lifetime('max_cert_lifetime', fields.get('max_cert_lifetime') ?? '0', true),
    csrDer,
  };
}
