import { describe, expect, it } from 'vitest';
import { dropPassphrase, parseRequest } from './request.js';

const CSR_B64 = Buffer.alloc(300, 7).toString('base64').replace(/(.{64})/g, '$1\n');
const PEM = `-----BEGIN CERTIFICATE REQUEST-----\n${CSR_B64}\n-----END CERTIFICATE REQUEST-----\n`;

function request(fields: Record<string, string>): Buffer {
  const head = Object.entries(fields).map(([k, v]) => `${k}=${v}\n`).join('');
  return Buffer.from(`${head}\n${PEM}`);
}

const MYPROXY = {
  username: '/DC=org/O=Example/CN=John Doe email=jdoe@example.org',
  passphrase: 's3cret pass',
  proxy_lifetime: '43200',
  retrievers: 'NULL',
  max_cert_lifetime: '0',
};

describe('dropPassphrase', () => {
  it('removes the passphrase line and zeroes the input', () => {
    const input = request(MYPROXY);
    const out = dropPassphrase(input);
    expect(out.toString()).not.toContain('s3cret');
    expect(out.toString()).toContain('username=');
    expect(input.every((b) => b === 0)).toBe(true);
  });
});

describe('parseRequest', () => {
  it('parses what MyProxy sends', () => {
    const r = parseRequest(dropPassphrase(request(MYPROXY)));
    expect(r.username).toBe(MYPROXY.username);
    expect(r.proxyLifetime).toBe(43200);
    expect(r.maxCertLifetime).toBe(0);
    expect(r.csrDer.length).toBe(300);
  });

  it('caps huge lifetimes instead of refusing them', () => {
    expect(parseRequest(request({ ...MYPROXY, proxy_lifetime: '9'.repeat(25) })).proxyLifetime).toBe(2 ** 31);
  });

  it.each([
    ['zero lifetime', request({ ...MYPROXY, proxy_lifetime: '0' }), /must be positive/],
    ['negative lifetime', request({ ...MYPROXY, proxy_lifetime: '-5' }), /not a whole number/],
    ['text lifetime', request({ ...MYPROXY, proxy_lifetime: '1e9' }), /not a whole number/],
    ['missing username', request({ proxy_lifetime: '10' }), /missing username/],
    ['NULL username', request({ ...MYPROXY, username: 'NULL' }), /missing username/],
    ['missing lifetime', request({ username: '/CN=x' }), /missing proxy_lifetime/],
    ['duplicate', Buffer.from(`username=/CN=a\nusername=/CN=b\nproxy_lifetime=1\n\n${PEM}`), /duplicate request field username/],
    ['NUL byte', Buffer.from(`username=/CN=a\0\nproxy_lifetime=1\n\n${PEM}`), /NUL/],
    ['invalid UTF-8', Buffer.concat([Buffer.from('username=/CN='), Buffer.of(0xc3, 0x28), Buffer.from(`\nproxy_lifetime=1\n\n${PEM}`)]), /UTF-8/],
    ['no blank line', Buffer.from('username=/CN=a\nproxy_lifetime=1\n'), /no blank line/],
    ['two CSRs', Buffer.from(`username=/CN=a\nproxy_lifetime=1\n\n${PEM}${PEM}`), /one PEM/],
    ['truncated PEM', Buffer.from(`username=/CN=a\nproxy_lifetime=1\n\n${PEM.slice(0, 120)}`), /one PEM/],
    ['malformed line', Buffer.from(`username=/CN=a\nbogus line\n\n${PEM}`), /malformed request line/],
  ])('refuses %s', (_name, bytes, why) => {
    expect(() => parseRequest(bytes)).toThrow(why);
  });
});
