import { describe, expect, it } from 'vitest';
import { approvalState, authenticate, checkDuplicates, profileProblem, type AuthenticationFacts } from './enrollment-rules.js';

const DAY = 86_400_000;
const NOW = 1_000 * DAY;
const SUBJECT = '/DC=org/DC=example/OU=hosts/CN=host1.example.org';
const settings = { scepRenewalDays: 30, scepRenewExpired: false, scepOnBehalf: ['/DC=org/DC=example/CN=agent'], scepUnauthenticated: 'reject' as const };
const facts = (over: Partial<AuthenticationFacts> = {}): AuthenticationFacts => ({
  messageType: 'PKCSReq',
  subject: SUBJECT,
  signerSelfSigned: true,
  ownSigner: undefined,
  challengeGiven: false,
  challengeSubject: undefined,
  now: NOW,
  ...over,
});
const own = (over: Partial<NonNullable<AuthenticationFacts['ownSigner']>> = {}) => ({ serial: 'AB', subject: SUBJECT, status: 'V' as const, notAfter: NOW + 10 * DAY, ...over });

describe('authentication', () => {
  it('takes a one-time challenge for the subject it was made for, and no other', () => {
    expect(authenticate(facts({ challengeGiven: true, challengeSubject: '/DC=org/DC=example/OU=hosts/CN=*' }), settings)).toMatchObject({ ok: true, auth: 'challenge', kind: 'enroll' });
    expect(authenticate(facts({ challengeGiven: true, challengeSubject: '/DC=org/DC=example/OU=hosts/CN=other' }), settings)).toMatchObject({ ok: false, failInfo: 'badRequest' });
    expect(authenticate(facts({ challengeGiven: true, challengeSubject: undefined }), settings)).toMatchObject({ ok: false, reason: expect.stringMatching(/wrong, used or expired/) });
  });

  it('renews for the same subject inside the window, with a valid certificate of this CA', () => {
    expect(authenticate(facts({ signerSelfSigned: false, ownSigner: own() }), settings)).toEqual({ ok: true, auth: 'renewal', kind: 'renew', signer: 'AB', replaces: 'AB' });
    expect(authenticate(facts({ signerSelfSigned: false, ownSigner: own({ notAfter: NOW + 40 * DAY }) }), settings)).toMatchObject({ ok: false, reason: expect.stringMatching(/SCEP_RENEWAL_DAYS/) });
    expect(authenticate(facts({ signerSelfSigned: false, ownSigner: own({ status: 'R' }) }), settings)).toMatchObject({ ok: false, failInfo: 'badCertId' });
    expect(authenticate(facts({ signerSelfSigned: false, ownSigner: own({ notAfter: NOW - 1 }) }), settings)).toMatchObject({ ok: false, failInfo: 'badCertId' });
    expect(authenticate(facts({ signerSelfSigned: false, ownSigner: own({ notAfter: NOW - 1 }) }), { ...settings, scepRenewExpired: true })).toMatchObject({ ok: true, auth: 'renewal' });
  });

  it('takes an authorised signer on behalf of another subject, and refuses any other signer of this CA', () => {
    expect(authenticate(facts({ signerSelfSigned: false, ownSigner: own({ subject: '/DC=org/DC=example/CN=agent' }) }), settings)).toMatchObject({ ok: true, auth: 'on-behalf', kind: 'enroll', signer: 'AB' });
    expect(authenticate(facts({ messageType: 'RenewalReq', signerSelfSigned: false, ownSigner: own({ subject: '/DC=org/DC=example/CN=someone' }) }), settings)).toMatchObject({ ok: false, failInfo: 'badCertId' });
  });

  it('refuses a RenewalReq not signed by this CA, and unauthenticated requests unless they may wait for operators', () => {
    expect(authenticate(facts({ messageType: 'RenewalReq' }), settings)).toMatchObject({ ok: false, failInfo: 'badCertId' });
    expect(authenticate(facts(), settings)).toMatchObject({ ok: false, failInfo: 'badRequest' });
    expect(authenticate(facts(), { ...settings, scepUnauthenticated: 'wait' })).toMatchObject({ ok: true, auth: 'none' });
  });
});

describe('the profile check', () => {
  const allowAll = { inNamespace: () => true, inScepSubjects: () => true, dnsAllowed: () => true, ipAllowed: () => true };
  it("refuses the CA's own subject, and subjects and names outside their rules", () => {
    const base = { subject: SUBJECT, subjectIsCa: false, dnsNames: ['a.example.org'], ipAddresses: ['192.0.2.1'] };
    expect(profileProblem(base, allowAll)).toBeNull();
    expect(profileProblem({ ...base, subjectIsCa: true }, allowAll)?.reason).toMatch(/CA's own/);
    expect(profileProblem(base, { ...allowAll, inNamespace: () => false })?.reason).toMatch(/namespace/);
    expect(profileProblem(base, { ...allowAll, inScepSubjects: () => false })?.reason).toMatch(/SCEP_SUBJECTS/);
    expect(profileProblem(base, { ...allowAll, dnsAllowed: () => false })?.reason).toMatch(/SCEP_SAN_DNS/);
    expect(profileProblem(base, { ...allowAll, ipAllowed: () => false })?.reason).toMatch(/SCEP_SAN_IP/);
  });
});

describe('the duplicate check', () => {
  const config = { scepMaxActiveCerts: 1, scepAutoRevokeExisting: false };
  it('counts the certificate a renewal replaces one less', () => {
    expect(checkDuplicates({ kind: 'renew', replaces: 'A' }, ['A'], config)).toEqual({ ok: true, revoke: [] });
    expect(checkDuplicates({ kind: 'enroll' }, ['A'], config)).toMatchObject({ ok: false, reason: expect.stringMatching(/SCEP_MAX_ACTIVE_CERTS=1/) });
    expect(checkDuplicates({ kind: 'enroll' }, [], config)).toEqual({ ok: true, revoke: [] });
  });

  it('revokes the valid certificates of an initial enrollment with SCEP_AUTO_REVOKE_EXISTING, never for a renewal', () => {
    const auto = { ...config, scepAutoRevokeExisting: true };
    expect(checkDuplicates({ kind: 'enroll' }, ['A', 'B'], auto)).toEqual({ ok: true, revoke: ['A', 'B'] });
    expect(checkDuplicates({ kind: 'renew', replaces: 'A' }, ['A', 'B'], auto)).toMatchObject({ ok: false });
  });
});

describe('approval points', () => {
  it('counts the eligibility yes and each operator, and always wants an operator for an unauthenticated request', () => {
    const workflow = { auth: 'challenge' as const, eligible: null, approvals: [] };
    expect(approvalState(workflow, { scepApprovalPoints: 0 })).toEqual({ points: 0, required: 0, approved: true });
    expect(approvalState({ ...workflow, eligible: true }, { scepApprovalPoints: 2 })).toMatchObject({ points: 1, approved: false });
    expect(approvalState({ ...workflow, eligible: true, approvals: [{ by: 'alice', at: 1 }] }, { scepApprovalPoints: 2 })).toMatchObject({ points: 2, approved: true });
    expect(approvalState({ ...workflow, auth: 'none', eligible: true }, { scepApprovalPoints: 0 })).toMatchObject({ points: 1, required: 1, approved: false });
    expect(approvalState({ ...workflow, auth: 'none', approvals: [{ by: 'alice', at: 1 }] }, { scepApprovalPoints: 0 })).toMatchObject({ approved: true });
  });
});
