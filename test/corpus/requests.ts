/**
 * Request files as the client spools them: MyProxy's `key=value` header
 * (the passphrase line already dropped), a blank line, the CSR in PEM.
 */
import { REQUEST_KEYS } from '@etoken-ca/contract/core/request';

export interface RequestFields {
  readonly username?: string;
  readonly proxyLifetime?: string;
  readonly maxCertLifetime?: string;
}

/** The header lines MyProxy writes, in its order, minus the passphrase; unset values are NULL. */
export function headerLines(fields: RequestFields = {}): string[] {
  const values: Readonly<Record<string, string>> = {
    username: fields.username ?? '/O=Example/CN=John Doe',
    proxy_lifetime: fields.proxyLifetime ?? '43200',
    max_cert_lifetime: fields.maxCertLifetime ?? '0',
  };
  return REQUEST_KEYS.filter((key) => key !== 'passphrase').map((key) => `${key}=${values[key] ?? 'NULL'}`);
}

export function pem(der: Buffer, label = 'CERTIFICATE REQUEST'): string {
  const body = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/** Header lines, blank line, CSR text. */
export function requestBytes(lines: readonly string[], csrText: string): Buffer {
  return Buffer.from(`${lines.join('\n')}\n\n${csrText}`, 'utf8');
}

export function request(csrDer: Buffer, fields: RequestFields = {}): Buffer {
  return requestBytes(headerLines(fields), pem(csrDer));
}
