import { describe, expect, it } from 'vitest';
import { decodeScepSpoolRequest, encodeScepSpoolRequest, formatScepAnswer, parseScepAnswer } from './scep-spool.js';

describe('SCEP spool entries', () => {
  it('carry the content key and the message, and nothing that is not in that form', () => {
    const request = { contentKey: Buffer.alloc(16, 7), message: Buffer.from([0x30, 0x82, 0x0a, 0x0a]) };
    expect(decodeScepSpoolRequest(encodeScepSpoolRequest(request))).toEqual(request);
    for (const bad of ['scep-request 1 0707\n0', 'scep-request 2 07070707070707070707070707070707\n0', `scep-request 1 ${'07'.repeat(16)}\n`, `scep-request 1 ${'07'.repeat(33)}\n0`, 'garbage']) {
      expect(decodeScepSpoolRequest(Buffer.from(bad))).toBeNull();
    }
  });

  it('answers round-trip, and a malformed answer is none', () => {
    for (const answer of [
      { status: 'SUCCESS', certificate: 'MIIB' },
      { status: 'SUCCESS', crl: 'MIIC' },
      { status: 'PENDING' },
      { status: 'FAILURE', failInfo: 'badCertId', reason: 'not a certificate of this CA' },
    ] as const) {
      expect(parseScepAnswer(formatScepAnswer(answer))).toEqual(answer);
    }
    expect(parseScepAnswer('{"status":"FAILURE","failInfo":"badLuck","reason":"x"}')).toBeNull();
    expect(parseScepAnswer('{"status":"SUCCESS","certificate":"not base64!"}')).toBeNull();
    expect(parseScepAnswer('{"status":"SUCC')).toBeNull();
  });
});
