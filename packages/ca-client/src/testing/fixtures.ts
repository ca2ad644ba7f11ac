/**
 * What the client's tests check answers with, made fresh for each test file
 * by the product's own template: a CA, a CSR and its certificate, and
 * certificates that must be refused (another key, another subject, another
 * CA of the same name).
 */
import { generateKeyPairSync } from 'node:crypto';
import { readCertificateFields } from '@etoken-ca/x509/certificate-fields';
import { makeFileCa } from '../../../x509/src/testing/file-ca.js';
import { pemBytes } from '@etoken-ca/x509/pem';
import type { CaCertificateFile } from '@etoken-ca/contract/io/ca-certificate-file';
import { rsaCsr } from '../../../../test/corpus/csr-builder.js';
import { pem } from '../../../../test/corpus/requests.js';

export const CONFIG_TEXT = 'DN_FORMAT=/O=Grid%s\n';
/** The subject the default username of myproxyRequest() gives under CONFIG_TEXT. */
const SUBJECT = [
  { type: 'O', value: 'Grid' },
  { type: 'DC', value: 'org' },
  { type: 'O', value: 'Example' },
  { type: 'CN', value: 'John Doe' },
];

const authority = makeFileCa({ config: CONFIG_TEXT });
const impostor = makeFileCa({ config: CONFIG_TEXT });
const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
const spki = key.publicKey.export({ type: 'spki', format: 'der' });
const otherSpki = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' });
const asPem = (der: Buffer): string => pemBytes(der, 'CERTIFICATE').toString('latin1');

export const CONFIG = authority.config;
export const CA_FILE: CaCertificateFile = { file: '/etc/etoken-ca/ca.pem', der: authority.ca.der, fields: readCertificateFields(authority.ca.der) };
export const CSR_PEM = pem(rsaCsr(key));
export const CSR_SPKI = spki;
export const CERT_PEM = asPem(authority.issue({ spki, subject: SUBJECT }));
export const CERT_OTHER_KEY_PEM = asPem(authority.issue({ spki: otherSpki, subject: SUBJECT }));
export const CERT_OTHER_SUBJECT_PEM = asPem(authority.issue({ spki, subject: [...SUBJECT.slice(0, 3), { type: 'CN', value: 'Jane Doe' }] }));
export const CERT_OTHER_CA_PEM = asPem(impostor.issue({ spki, subject: SUBJECT }));
