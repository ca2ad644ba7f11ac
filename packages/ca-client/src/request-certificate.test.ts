import { describe, expect, it } from 'vitest';
import { certificateCheck } from './certificate-check.js';
import { MISMATCH_MESSAGE } from './outcome.js';
import { prepareRequest } from './prepare-request.js';
import { requestCertificate } from './request-certificate.js';
import { startDeadline, stopBySignal } from './stop-reason.js';
import { FakeClock } from './testing/fake-clock.js';
import { FakeSpool } from './testing/fake-spool.js';
import { CA_FILE, CERT_OTHER_KEY_PEM, CERT_OTHER_SUBJECT_PEM, CERT_PEM, CONFIG, CSR_PEM, CSR_SPKI } from './testing/fixtures.js';
import { myproxyRequest } from './testing/myproxy-request.js';

const ID = 'c'.repeat(32);
const PASSPHRASE = 'correct horse battery staple';
function setup({ timeoutSeconds = 60, caCert = CA_FILE } = {}) {
  const spool = new FakeSpool();
  const clock = new FakeClock();
  const stop = new AbortController();
  startDeadline(stop, clock, timeoutSeconds);
  const printed: string[] = [];
  const run = () =>
    requestCertificate(
      prepareRequest(myproxyRequest(CSR_PEM, { passphrase: PASSPHRASE }), CONFIG),
      {
        spool,
        clock,
        newRequestId: () => ID,
        lockTarget: '4242.987654',
        printCertificate: (pem) => printed.push(pem),
        certificateCheck: async (prepared) => certificateCheck(caCert, prepared),
      },
      stop.signal,
    );
  return { spool, clock, stop, printed, run };
}

describe('requestCertificate', () => {
  it('spools the request without the passphrase, publishes a lock, prints the certificate, then removes both', async () => {
    const { spool, printed, run } = setup();
    let seen = new Map<string, Buffer | string>();
    spool.onPublish = (id) => {
      seen = new Map(spool.files);
      spool.answer(id, { status: 'issued', serial: '1234', pem: CERT_PEM });
    };
    await expect(run()).resolves.toEqual({ exit: 0 });
    expect(seen.get(`${ID}.lock`)).toBe('4242.987654');
    const spooled = seen.get(`${ID}.req`) as Buffer;
    expect(spooled.toString()).toContain('username=/DC=org/O=Example/CN=John Doe');
    expect(spooled.toString()).not.toContain('passphrase');
    expect(spooled.includes(PASSPHRASE)).toBe(false);
    expect(printed).toEqual([CERT_PEM]);
    expect(spool.files.size).toBe(0);
  });

  it('looks for the answer right after publishing, without waiting for an event', async () => {
    const { spool, run } = setup();
    spool.onPublish = (id) => spool.answer(id, { status: 'refused', exit: 69, reason: 'token not present' }, false);
    await expect(run()).resolves.toEqual({ exit: 69, message: 'token not present' });
    expect(spool.files.size).toBe(0);
  });

  it.each([
    ['another key', CERT_OTHER_KEY_PEM],
    ['another subject', CERT_OTHER_SUBJECT_PEM],
  ])('prints nothing for a certificate of %s, exits 70 and cleans up', async (_, pem) => {
    const { spool, printed, run } = setup();
    spool.onPublish = (id) => spool.answer(id, { status: 'issued', serial: '1235', pem });
    await expect(run()).resolves.toEqual({ exit: 70, message: MISMATCH_MESSAGE });
    expect(printed).toEqual([]);
    expect(spool.files.size).toBe(0);
  });

  it('gives up at the deadline with exit 75 and no files left', async () => {
    const { spool, clock, run } = setup({ timeoutSeconds: 60 });
    const result = run();
    expect(spool.files.size).toBe(2);
    clock.advance(59_999);
    expect(spool.files.size).toBe(2);
    clock.advance(1);
    await expect(result).resolves.toEqual({ exit: 75, message: 'no answer from etoken-ca-server within 60 s' });
    expect(spool.files.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('stops on a signal with exit 75 and no files left', async () => {
    const { spool, stop, run } = setup();
    const result = run();
    stopBySignal(stop, 'SIGTERM');
    await expect(result).resolves.toEqual({ exit: 75, message: 'stopped by SIGTERM' });
    expect(spool.files.size).toBe(0);
  });

  it.each([
    ['ENOENT', 69],
    ['EACCES', 77],
    ['EIO', 73],
  ])('request file not created (%s): exit %i, nothing to remove', async (code, exit) => {
    const { spool, run } = setup();
    spool.failCreate = code;
    await expect(run()).rejects.toMatchObject({ exitCode: exit });
    expect(spool.files.size).toBe(0);
  });

  it('withdraws the published request when node:crypto cannot take the CA key: exit 78', async () => {
    const exitCode = 78;
    const { spool, printed, run } = setup({ caCert: { ...CA_FILE, fields: { ...CA_FILE.fields, spki: Buffer.from('30053000020105', 'hex') } } });
    let published = false;
    spool.onPublish = (id) => {
      published = true;
      spool.answer(id, { status: 'issued', serial: '1234', pem: CERT_PEM });
    };
    await expect(run()).rejects.toMatchObject({ exitCode });
    expect(published).toBe(true);
    expect(printed).toEqual([]);
    expect(spool.files.size).toBe(0);
    expect(spool.watching).toBe(false);
  });

  it('removes the request file when the answers directory cannot be watched or the lock not published', async () => {
    const first = setup();
    first.spool.failWatch = 'ENOENT';
    await expect(first.run()).rejects.toMatchObject({ exitCode: 69, message: expect.stringContaining('/spool/answers not found') });
    expect(first.spool.files.size).toBe(0);
    const second = setup();
    second.spool.failPublish = 'EACCES';
    await expect(second.run()).rejects.toMatchObject({ exitCode: 77 });
    expect(second.spool.files.size).toBe(0);
    expect(second.spool.watching).toBe(false);
  });
});

describe('prepareRequest', () => {
  it('zeroes the input that held the passphrase and keeps the CSR key', () => {
    const raw = myproxyRequest(CSR_PEM, { passphrase: PASSPHRASE });
    const prepared = prepareRequest(raw, CONFIG);
    expect(raw.every((byte) => byte === 0)).toBe(true);
    expect(prepared.csrSpki).toEqual(CSR_SPKI);
  });

  it('refuses a malformed request, and a username the server would refuse, with exit 65 and a reason', () => {
    expect(() => prepareRequest(Buffer.from('username=x\n'), CONFIG)).toThrow(expect.objectContaining({ exitCode: 65 }));
    expect(() => prepareRequest(myproxyRequest(CSR_PEM, { username: '/O=Example/CN=John+UID=root' }), CONFIG)).toThrow(expect.objectContaining({ exitCode: 65, message: expect.stringMatching(/inside CN value/) }));
  });
});
