import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCertificateFields } from './certificate-fields.js';
import { encodeName } from './name.js';
import { onelineName, sameName } from './oneline-name.js';

/** The subject line `openssl ca` writes into index.txt for a certificate made with this -subj. */
function opensslIndexSubject(subject: string): { oneline: string; name: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'etoken-oneline-'));
  try {
    const conf = join(dir, 'ca.cnf');
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(conf, `[ca]\ndefault_ca=c\n[c]\ndir=${dir}\ndatabase=$dir/index.txt\nnew_certs_dir=$dir\nserial=$dir/serial\ncertificate=$dir/ca.pem\nprivate_key=$dir/ca.key\ndefault_md=sha256\npolicy=p\ndefault_days=1\nunique_subject=no\npreserve=yes\n[p]\n`);
    writeFileSync(join(dir, 'serial'), '01\n');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-subj', '/CN=CA', '-days', '1'], { stdio: 'pipe' });
    execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'u.key'), '-out', join(dir, 'u.csr'), '-subj', subject, '-utf8'], { stdio: 'pipe' });
    execFileSync('openssl', ['ca', '-batch', '-config', conf, '-in', join(dir, 'u.csr'), '-out', join(dir, 'u.pem'), '-utf8', '-preserveDN', '-notext'], { stdio: 'pipe' });
    const der = Buffer.from(readFileSync(join(dir, 'u.pem'), 'latin1').replace(/-----[^-]+-----|\s/g, ''), 'base64');
    return { oneline: readFileSync(join(dir, 'index.txt'), 'utf8').trimEnd().split('\t')[5]!, name: readCertificateFields(der).subject };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('onelineName', () => {
  it.each([
    '/DC=org/DC=Grid/O=Example/CN=John Doe',
    "/DC=org/O=Grid/CN=Jürgen Müller, Jr./OU=O'Brien's group",
    '/C=DE/ST=Baden-Württemberg/L=Karlsruhe/O=KIT/CN=山田 太郎/emailAddress=y@example.org',
    '/O=Example/title=Boss/street=Main St 1/CN=x+UID=y',
  ])('spells %s exactly as openssl ca writes it in index.txt', (subject) => {
    const { oneline, name } = opensslIndexSubject(subject);
    expect(onelineName(name)).toBe(oneline);
  });

  it('treats names that differ only in string type, case or blanks as the same name', () => {
    const a = encodeName([{ type: 'O', value: 'Example' }, { type: 'CN', value: 'Test CA' }]);
    const b = opensslIndexSubject('/O=example/CN=Test  CA').name;
    expect(a.equals(b)).toBe(false);
    expect(sameName(a, b)).toBe(true);
    expect(sameName(a, encodeName([{ type: 'O', value: 'Example' }, { type: 'CN', value: 'Test CB' }]))).toBe(false);
  });
});
