import { describe, expect, it } from 'vitest';
import { compileDnFormat } from './dn.js';
import { inNamespace, namespaceOfFormat, signingPolicy } from './namespace.js';

describe('the namespace', () => {
  it('is DN_FORMAT with a * where %s goes', () => {
    expect(namespaceOfFormat(compileDnFormat('/DC=org/DC=example%s'))).toEqual(['/DC=org/DC=example/*']);
    expect(namespaceOfFormat(compileDnFormat('/O=Grid/CN=%s (user)'))).toEqual(['/O=Grid/CN=* (user)']);
    expect(namespaceOfFormat(compileDnFormat('/O=Gr\u00fcn/CN=%s'))).toEqual(['/O=Gr\\xC3\\xBCn/CN=*']);
  });

  it('matches subjects in index.txt spelling, * across slashes, ? for one character', () => {
    const ns = ['/DC=org/DC=example/*', '/O=Other/CN=?'];
    expect(inNamespace(ns, [{ type: 'DC', value: 'org' }, { type: 'DC', value: 'example' }, { type: 'CN', value: 'Jane' }])).toBe(true);
    expect(inNamespace(ns, '/DC=org/DC=example/OU=x/CN=y')).toBe(true);
    expect(inNamespace(ns, '/O=Other/CN=a')).toBe(true);
    expect(inNamespace(ns, '/O=Other/CN=ab')).toBe(false);
    expect(inNamespace(ns, '/DC=org/DC=exampl/CN=x')).toBe(false);
    expect(inNamespace(ns, '/DC=org/DC=example')).toBe(false);
    expect(inNamespace(['/A=*b*c'], `/A=${'b'.repeat(5000)}`)).toBe(false);
  });

  it('is printed as a signing_policy file', () => {
    expect(signingPolicy('/O=Test/CN=Test CA', ['/O=Test/*', '/DC=org/*'])).toContain(`cond_subjects     globus       '"/O=Test/*" "/DC=org/*"'`);
    expect(signingPolicy('/O=Test/CN=Test CA', ['/O=Test/*'])).toContain(`access_id_CA      X509         '/O=Test/CN=Test CA'`);
  });
});
