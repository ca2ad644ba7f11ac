import { describe, expect, it } from 'vitest';
import { EtokenError } from '@etoken-ca/contract/core/exit-codes';
import type { CertificateCheck } from './certificate-check.js';
import { deliverAnswer, errorOutcome, MISMATCH_MESSAGE, oneLine, refusalExit, stoppedOutcome } from './outcome.js';
import { spoolFailure } from './spool-errors.js';

const CERT_PEM = '-----BEGIN CERTIFICATE-----\nMATCHES\n-----END CERTIFICATE-----\n';
const CERT_OTHER_KEY_PEM = '-----BEGIN CERTIFICATE-----\nOTHER\n-----END CERTIFICATE-----\n';
/** The check's verdict is certificate-check.test.ts's business: here only what is done with it. */
const check: CertificateCheck = (pem) => (pem === CERT_PEM ? pem : null);

describe('refusalExit', () => {
  it.each([65, 69, 70, 75, 77])('keeps %i', (code) => expect(refusalExit(code)).toBe(code));
  it.each([0, 1, 64, 73, 78, 255, -1, 65.5, NaN])('turns %s into 65', (code) => expect(refusalExit(code)).toBe(65));
});

describe('deliverAnswer', () => {
  it('prints a matching certificate and exits 0', () => {
    const printed: string[] = [];
    expect(deliverAnswer({ status: 'issued', serial: '1234', pem: CERT_PEM }, check, (pem) => printed.push(pem))).toEqual({ exit: 0 });
    expect(printed).toEqual([CERT_PEM]);
  });

  it('prints nothing and exits 70 for a certificate that does not match', () => {
    const printed: string[] = [];
    const outcome = deliverAnswer({ status: 'issued', serial: '1235', pem: CERT_OTHER_KEY_PEM }, check, (pem) => printed.push(pem));
    expect(outcome).toEqual({ exit: 70, message: MISMATCH_MESSAGE });
    expect(printed).toEqual([]);
  });

  it("passes a refusal's exit code and reason on, on one line", () => {
    const outcome = deliverAnswer({ status: 'refused', exit: 69, reason: 'token not present\nretry\x1b[31m' }, check, () => undefined);
    expect(outcome).toEqual({ exit: 69, message: 'token not present retry [31m' });
  });

  it('says something even when the reason is empty', () => {
    expect(deliverAnswer({ status: 'refused', exit: 12, reason: '' }, check, () => undefined)).toEqual({ exit: 65, message: 'request refused' });
  });
});

describe('stoppedOutcome', () => {
  it('names the deadline and what was missing', () => {
    expect(stoppedOutcome({ kind: 'timeout', seconds: 60 }, 'answer')).toEqual({ exit: 75, message: 'no answer from etoken-ca-server within 60 s' });
    expect(stoppedOutcome({ kind: 'timeout', seconds: 2 }, 'request')).toEqual({ exit: 75, message: 'no complete request on stdin within 2 s' });
  });

  it('names the signal', () => {
    expect(stoppedOutcome({ kind: 'signal', signal: 'SIGTERM' }, 'answer')).toEqual({ exit: 75, message: 'stopped by SIGTERM' });
  });
});

describe('errorOutcome and spool failures', () => {
  it.each([
    ['ENOENT', 69, 'etoken-ca spool /s/incoming not found (is etoken-ca-server installed?)'],
    ['EACCES', 77, 'no permission to use the etoken-ca spool /s/incoming'],
    ['EPERM', 77, 'no permission to use the etoken-ca spool /s/incoming'],
    ['ENOSPC', 73, 'cannot create a request in /s/incoming: ENOSPC'],
    ['EEXIST', 73, 'cannot create a request in /s/incoming: EEXIST'],
  ])('%s -> exit %i', (code, exit, message) => {
    expect(errorOutcome(spoolFailure(code, '/s/incoming'))).toEqual({ exit, message });
  });

  it('keeps the exit code of an EtokenError', () => {
    expect(errorOutcome(new EtokenError(78, '/etc/x:3: FOO: unknown key'))).toEqual({ exit: 78, message: '/etc/x:3: FOO: unknown key' });
  });

  it('reports anything else as an internal error on one line', () => {
    expect(errorOutcome(new Error('boom\nline two'))).toEqual({ exit: 70, message: 'internal error: boom line two' });
  });

  it('cuts a long line', () => {
    expect(oneLine('x'.repeat(10_000))).toHaveLength(500);
  });
});
