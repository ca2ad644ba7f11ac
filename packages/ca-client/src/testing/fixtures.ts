/**
 * Certificates made once with openssl (valid for a century): a CA, a CSR,
 * its certificate from that CA, one for another key, and one from another
 * CA with the same name.
 */
import { readFileSync } from 'node:fs';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

export const CA_PEM = fixture('ca.pem');
export const CSR_PEM = fixture('csr.pem');
export const CERT_PEM = fixture('cert.pem');
export const CERT_OTHER_KEY_PEM = fixture('cert-other-key.pem');
export const CERT_OTHER_CA_PEM = fixture('cert-other-ca.pem');
