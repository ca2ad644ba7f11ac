/**
 * GetCACaps (RFC 8894 §3.5.2): one keyword a line. The digests and ciphers
 * advertised are those the policy accepts; SCEPStandard promises AES and
 * SHA-256 among them. GetNextCACert is not advertised: there is no rollover
 * certificate to hand out.
 */
import type { AlgorithmPolicy } from './algorithm-policy.js';
import type { HttpAnswer } from './http-answer.js';

export function caCapabilitiesAnswer(policy: AlgorithmPolicy): HttpAnswer {
  const { digests, contentCiphers } = policy;
  const standard = contentCiphers.has('aes-128-cbc') && digests.has('sha256');
  const keywords = [
    'POSTPKIOperation',
    'Renewal',
    ...(standard ? ['SCEPStandard'] : []),
    ...(contentCiphers.has('aes-128-cbc') ? ['AES'] : []),
    ...(contentCiphers.has('des-ede3-cbc') ? ['DES3'] : []),
    ...(digests.has('sha256') ? ['SHA-256'] : []),
    ...(digests.has('sha512') ? ['SHA-512'] : []),
    ...(digests.has('sha1') ? ['SHA-1'] : []),
  ];
  return { status: 200, contentType: 'text/plain', body: Buffer.from(`${keywords.join('\n')}\n`) };
}
