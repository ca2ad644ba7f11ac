import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';
import { EtokenError } from './exit-codes.js';

function configError(text: string): EtokenError {
  try {
    parseConfig(text, '/etc/sysconfig/etoken-ca');
  } catch (e) {
    return e as EtokenError;
  }
  throw new Error('expected a config error');
}

describe('parseConfig', () => {
  it('gives every key its default and freezes the result', () => {
    const c = parseConfig('DN_FORMAT=/O=Example%s', 'f');
    expect(c.namespace).toEqual(['/O=Example/*']);
    expect(c.spoolDir).toBe('/var/spool/etoken-ca');
    expect(c.caUser).toBe('causer');
    expect(c.key).toEqual({ slot: 0, keyId: null });
    expect(c.clientTimeout).toBe(60);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.caOids)).toBe(true);
  });

  it('reads the original tool keys', () => {
    const c = parseConfig(
      [
        '# comment',
        'DN_FORMAT="/DC=org/DC=example%s"',
        'CA_OIDS="1.2.840.113612.5.2.2.5, 1.3.6.1.4.1.10434.4.2.5.1"',
        'CRL_URLS="URI:http://ca.example.org/crl.pem,URI:http://mirror.example.org/crl.pem"',
        'USB_DEVICE=0529:0620',
        'KEY=1:a1b2',
      ].join('\n'),
      'f',
    );
    expect(c.dnFormat.mode).toBe('rdns');
    expect(c.caOids).toEqual(['1.2.840.113612.5.2.2.5', '1.3.6.1.4.1.10434.4.2.5.1']);
    expect(c.crlUrls).toEqual(['http://ca.example.org/crl.pem', 'http://mirror.example.org/crl.pem']);
    expect(c.usbDevice).toEqual({ vendor: 0x0529, product: 0x0620 });
    expect(c.key.slot).toBe(1);
    expect(c.key.keyId?.toString('hex')).toBe('a1b2');
  });

  it('names file, line and key in every error, exit 78', () => {
    const e = configError('\n\nFOO=bar');
    expect(e.exitCode).toBe(78);
    expect(e.message).toBe('/etc/sysconfig/etoken-ca:3: FOO: unknown key');
    expect(configError('CLIENT_TIMEOUT=500').message).toMatch(/:1: CLIENT_TIMEOUT: must be a whole number from 1 to 110/);
    expect(configError('CA_DIR=relative/dir').message).toMatch(/:1: CA_DIR: must be an absolute path/);
    expect(configError('CA_OIDS=1.2.x').message).toMatch(/CA_OIDS: "1.2.x" is not an OID/);
    expect(configError('CRL_URLS=http://x').message).toMatch(/must be URI:<url>/);
    expect(configError('KEY=0:abc').message).toMatch(/KEY: must be slot:key_id/);
    expect(configError('MAX_LIFETIME=1\nMAX_LIFETIME=2').message).toMatch(/:2: MAX_LIFETIME: set twice \(first on line 1\)/);
    expect(configError('just words').message).toMatch(/:1: expected KEY=value/);
    expect(configError('DN_FORMAT=/O=x').message).toMatch(/DN_FORMAT: must contain %s exactly once/);
  });

  it('never expands like a shell', () => {
    expect(configError('CA_DIR=$HOME/ca').message).toMatch(/unquoted value/);
    expect(parseConfig("DN_FORMAT=/CN=%s\nTOKEN_LABEL='my $token'", 'f').tokenLabel).toBe('my $token');
    expect(parseConfig('DN_FORMAT=/CN=%s\nTOKEN_LABEL="say \\"hi\\""', 'f').tokenLabel).toBe('say "hi"');
  });

  it('has no default DN_FORMAT: a new install must set its namespace', () => {
    const e = configError('CA_DIR=/var/lib/ca');
    expect(e.exitCode).toBe(78);
    expect(e.message).toBe('/etc/sysconfig/etoken-ca: DN_FORMAT: missing: it has no default and must be set');
  });

  it('takes SUBJECT_NAMESPACE as cond_subjects patterns, else DN_FORMAT\'s fixed part', () => {
    expect(parseConfig('DN_FORMAT=/O=Grid/CN=%s', 'f').namespace).toEqual(['/O=Grid/CN=*']);
    expect(parseConfig('DN_FORMAT=/DC=org%s/OU=People', 'f').namespace).toEqual(['/DC=org/*/OU=People']);
    const both = parseConfig('DN_FORMAT=/DC=org%s\nSUBJECT_NAMESPACE=\'"/DC=org/DC=example/*" "/DC=org/O=Other/*"\'', 'f');
    expect(both.namespace).toEqual(['/DC=org/DC=example/*', '/DC=org/O=Other/*']);
    expect(configError('DN_FORMAT=/CN=%s\nSUBJECT_NAMESPACE=/DC=org/*').message).toMatch(/:2: SUBJECT_NAMESPACE: must be double-quoted patterns/);
    expect(configError('DN_FORMAT=/CN=%s\nSUBJECT_NAMESPACE=\'"DC=org/*"\'').message).toMatch(/does not start with \//);
  });

  it('keeps the spool out of the CA directory', () => {
    expect(configError('DN_FORMAT=/CN=%s\nCA_DIR=/var/lib/ca\nSPOOL_DIR=/var/lib/ca/spool').message).toMatch(/SPOOL_DIR: must not be inside CA_DIR/);
  });
});
