import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@etoken-ca/contract/core/config';
import type { ParsedRequest } from '@etoken-ca/protocol/parser-messages';
import { keys, rsaCsr } from '../../../../../test/corpus/csr-builder.js';
import { request } from '../../../../../test/corpus/requests.js';
import { parserAnswerProblem } from './parser-answer-check.js';

const config = parseConfig('DN_FORMAT=/DC=org%s\n', 'unit.conf');
const bytes = request(rsaCsr(keys().rsa2048), { username: '/O=Example/CN=Jane email=jane@example.org', proxyLifetime: '3600', maxCertLifetime: '7200' });
const honest: ParsedRequest = {
  subject: [{ type: 'DC', value: 'org' }, { type: 'O', value: 'Example' }, { type: 'CN', value: 'Jane' }],
  emails: ['jane@example.org'],
  proxyLifetime: 3600,
  maxCertLifetime: 7200,
  spki: keys().rsa2048.publicKey.export({ type: 'spki', format: 'der' }),
};

describe("the supervisor's check of the parser's answer", () => {
  it('passes an answer that says what the request says', () => {
    expect(parserAnswerProblem(bytes, honest, config)).toBeNull();
  });

  it.each<[string, Partial<ParsedRequest>, RegExp]>([
    ['another subject', { subject: [{ type: 'DC', value: 'org' }, { type: 'CN', value: 'Mallory' }] }, /subject is not the one the username gives/],
    ['the same subject in another order', { subject: [...honest.subject].reverse() }, /subject/],
    ['an email more', { emails: ['jane@example.org', 'mallory@example.net'] }, /email addresses/],
    ['no email', { emails: [] }, /email addresses/],
    ['a longer lifetime', { proxyLifetime: 3601 }, /lifetimes/],
    ['no max_cert_lifetime', { maxCertLifetime: 0 }, /lifetimes/],
    ['a key not in the CSR', { spki: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }) }, /public key is not in the CSR/],
  ])('catches %s', (_, lie, why) => {
    expect(parserAnswerProblem(bytes, { ...honest, ...lie }, config)).toMatch(why);
  });

  it('catches an answer to a request the contract refuses', () => {
    expect(parserAnswerProblem(request(rsaCsr(keys().rsa2048), { username: '/O=Example/CN=a+UID=b' }), honest, config)).toMatch(/accepted a request the contract refuses/);
    const narrow = parseConfig('DN_FORMAT=/DC=org%s\nSUBJECT_NAMESPACE=\'"/DC=org/O=Other/*"\'\n', 'unit.conf');
    expect(parserAnswerProblem(bytes, honest, narrow)).toMatch(/outside the CA namespace/);
  });
});
