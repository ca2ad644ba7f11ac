/**
 * The server on a token that behaves like a USB eToken (the smart-card test
 * module, loaded through PKCS11_MODULE like a vendor module), with presence
 * polled every second and no USB events: pulled out while the PIN prompt
 * waits, put back under a new slot id, its PIN counter run down to a lock
 * and unlocked without a restart, a counter moved by someone else while the
 * prompt is open, device errors, and a signature that never returns.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { request } from '../corpus/requests.js';
import { PIN_PROMPT, typePinAtPrompt } from '../helpers/console-server.js';
import { makeServerFixture, removeFixture, SERVER_BIN } from '../helpers/ca-server.js';
import { indexLines, smartcardTool, startSmartcardCa, type SmartcardCa } from '../helpers/smartcard-ca.js';
import { createSmartcardControl, smartcardModule } from '../helpers/smartcard.js';
import { createTestToken } from '../helpers/softhsm.js';
import { runClient, type ClientResult } from '../helpers/spool-client.js';

const TOKEN_GONE = 'The token went away: no PIN is needed now.';
const FLAGS_CHANGED = "The token's PIN counter changed: asking again.";
const FINAL_TRY = 'FINAL TRY: one more wrong PIN locks the token.';
const FINAL_TRY_QUESTION = 'Send this PIN? [y/N] ';
const LOCKED = 'PIN LOCKED';

const csr = execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=NULL SUBJECT NAME ENTRY', '-outform', 'DER'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
const logon = (ca: SmartcardCa, cn: string): Promise<ClientResult> => runClient(request(csr, { username: `/O=Example/CN=${cn}` }), ca.fixture.configPath);

async function expectCertificate(ca: SmartcardCa, cn: string): Promise<void> {
  const result = await logon(ca, cn);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toContain('BEGIN CERTIFICATE');
}

const wrongPin = (ca: SmartcardCa): string => `9${ca.token.pin.split('').reverse().join('')}`;

/** What the console showed since its last token banner. */
const lastBanner = (output: string): string => output.slice(output.lastIndexOf('etoken-ca: token'));

let ca: SmartcardCa | undefined;
afterEach(async () => {
  await ca?.stop();
  ca = undefined;
});

describe('a smart-card token, presence polled every second, no USB events', () => {
  it('withdraws the PIN prompt when the token is pulled out, never sends the PIN typed meanwhile, and asks again when it is back in a new slot', async () => {
    ca = await startSmartcardCa('prompt-removal', { console: true, typePin: false, keys: { TOKEN_POLL_INTERVAL: '1' } });
    const pty = ca.pty!;
    await pty.waitFor(PIN_PROMPT, 1);
    const removedAt = Date.now();
    ca.card.removeToken();
    const [removed] = await ca.server.waitFor('token.removed', 1, 10_000);
    expect(Date.parse(String(removed!.time)) - removedAt).toBeLessThan(2500);
    await pty.waitFor(TOKEN_GONE);
    // The operator, not looking at the console, types the PIN anyway: it goes nowhere.
    pty.type(`${ca.token.pin}\r`);
    ca.card.insertToken();
    await ca.server.waitFor('token.inserted', 2, 10_000);
    await typePinAtPrompt(pty, ca.token.pin, 2);
    await ca.server.waitFor('pin.accepted', 1, 10_000);
    expect(ca.server.events('pin.rejected')).toEqual([]);
    expect(ca.notified()).toContain('token.removed');
    await expectCertificate(ca, 'After A New Slot');

    // Pulled out and put back while ready: found by polling, the PIN asked again, the token found in its new slot.
    ca.card.removeToken();
    await ca.server.waitFor('token.removed', 2, 10_000);
    ca.card.insertToken();
    await typePinAtPrompt(pty, ca.token.pin, 3);
    await ca.server.waitFor('pin.accepted', 2, 10_000);
    await expectCertificate(ca, 'After Another Slot');
  });

  it('notices a token pulled out and put back between two polls: nothing signed on the old session, the PIN asked again, then signing resumes', async () => {
    ca = await startSmartcardCa('quick-reinsert', { console: true, keys: { TOKEN_POLL_INTERVAL: '5' } });
    await ca.server.waitFor('crl.issued');
    await expectCertificate(ca, 'Before The Swap');
    const signedBefore = ca.card.signatures().length;
    // Out and back in within milliseconds: no poll in between sees the empty slot.
    ca.card.removeToken();
    ca.card.insertToken();
    const meanwhile = await logon(ca, 'Right After The Swap');
    expect(meanwhile.stdout, 'no certificate from the session the swap ended').not.toContain('BEGIN CERTIFICATE');
    expect(meanwhile.code, meanwhile.stderr).toBe(75);
    await typePinAtPrompt(ca.pty!, ca.token.pin, 2);
    const [relogin] = await ca.server.waitFor('pin.accepted', 2, 10_000).then((r) => r.slice(1));
    await expectCertificate(ca, 'After The Swap');
    // The request that met the old session is withheld (its outcome counted as unknown), never handed out.
    expect(ca.server.events('cert.withheld').map((e) => e.subject)).toEqual(['/DC=org/DC=example/O=Example/CN=Right After The Swap']);
    // Every signature the card made after the swap came from the new login.
    const afterSwap = ca.card.signatures().slice(signedBefore).filter((s) => s.rv === 0);
    expect(afterSwap.length).toBeGreaterThan(0);
    expect(afterSwap.filter((s) => s.startMs < Date.parse(String(relogin!.time)))).toEqual([]);
  });

  it('shows the real counter: a final try someone else caused is asked again with its confirmation', async () => {
    ca = await startSmartcardCa('counter', { console: true, typePin: false, keys: { TOKEN_POLL_INTERVAL: '1' } });
    const pty = ca.pty!;
    await pty.waitFor(PIN_PROMPT, 1);
    // Two wrong PINs from another program: one try left.
    for (let i = 0; i < 2; i++) expect(() => smartcardTool(ca!, ['--login', '--pin', wrongPin(ca!), '--list-objects'])).toThrow();
    await pty.waitFor(FLAGS_CHANGED, 1, 10_000);
    // Asked again (once per change the poll saw), the last time at the final try.
    await expect.poll(() => lastBanner(pty.output).includes(FINAL_TRY) && pty.output.endsWith(PIN_PROMPT), { timeout: 10_000 }).toBe(true);
    pty.type(`${ca.token.pin}\r`);
    await pty.waitFor(FINAL_TRY_QUESTION);
    pty.type('y\r');
    await ca.server.waitFor('pin.accepted', 1, 10_000);
    await expectCertificate(ca, 'After The Final Try');
  });

  it('locks after three wrong PINs, then takes the token back without a restart: unlocked in place, and unlocked elsewhere and re-inserted', async () => {
    ca = await startSmartcardCa('lock', { console: true, typePin: false, keys: { TOKEN_POLL_INTERVAL: '1' } });
    const pty = ca.pty!;
    /** Three wrong PINs from prompt number `prompt` on; `round` is 1 the first time. */
    const runDown = async (prompt: number, round: number): Promise<void> => {
      const rejected = (round - 1) * 3;
      await typePinAtPrompt(pty, wrongPin(ca!), prompt);
      await ca!.server.waitFor('pin.rejected', rejected + 1, 10_000);
      await typePinAtPrompt(pty, wrongPin(ca!), prompt + 1);
      await ca!.server.waitFor('pin.rejected', rejected + 2, 10_000);
      // The third prompt says so, and asks before sending.
      await pty.waitFor(PIN_PROMPT, prompt + 2);
      expect(lastBanner(pty.output)).toContain(FINAL_TRY);
      pty.type(`${wrongPin(ca!)}\r`);
      await pty.waitFor(FINAL_TRY_QUESTION, round);
      pty.type('y\r');
      await ca!.server.waitFor('token.locked', round, 10_000);
    };

    await runDown(1, 1);
    expect(ca.server.events('pin.rejected')).toHaveLength(3);
    await pty.waitFor(LOCKED);
    expect(ca.notified()).toContain('pin.rejected');
    // Unlocked with the SO PIN where the token is: the module reports it, and the PIN is asked at once.
    smartcardTool(ca, ['--login', '--login-type', 'so', '--so-pin', ca.token.soPin, '--init-pin', '--new-pin', ca.token.pin]);
    await ca.server.waitFor('token.unlocked', 1, 10_000);
    await typePinAtPrompt(pty, ca.token.pin, 4);
    await ca.server.waitFor('pin.accepted', 1, 10_000);
    await expectCertificate(ca, 'After An Unlock In Place');

    // Locked again, pulled out, unlocked elsewhere, put back.
    ca.card.removeToken();
    await ca.server.waitFor('token.removed', 1, 10_000);
    ca.card.insertToken();
    await runDown(5, 2);
    ca.card.removeToken();
    await ca.server.waitFor('token.removed', 2, 10_000);
    ca.card.resetPinCounter();
    ca.card.insertToken();
    await typePinAtPrompt(pty, ca.token.pin, 8);
    await ca.server.waitFor('pin.accepted', 2, 10_000);
    await expectCertificate(ca, 'After An Unlock Elsewhere');
    expect(ca.server.events('server.started')).toHaveLength(1);
  });

  it('fails one request on a device error, and stops signing and alerts the operator when they repeat', async () => {
    ca = await startSmartcardCa('device-errors', { console: true, keys: { TOKEN_POLL_INTERVAL: '1' } });
    // The start-up CRL first: the errors are for the certificates.
    await ca.server.waitFor('crl.issued');
    ca.card.injectDeviceErrors(1);
    const failed = await logon(ca, 'Device Error');
    expect(failed.code).toBe(75);
    expect(failed.stderr).toBe('etoken-ca: the token failed this signature (signing: CKR_DEVICE_ERROR); try again\n');
    await expectCertificate(ca, 'After One Device Error');
    expect(ca.server.events('cert.withheld')).toEqual([]);
    expect(ca.server.events('token.removed')).toEqual([]);

    ca.card.injectDeviceErrors(10);
    for (let i = 0; i < 3; i++) expect((await logon(ca, `Failing ${i}`)).code).toBe(75);
    const [failing] = await ca.server.waitFor('token.failing', 1, 10_000);
    expect(failing).toMatchObject({ failures: 3 });
    const refused = await logon(ca, 'While Failing');
    expect(refused.code).toBe(69);
    expect(refused.stderr).toMatch(/the CA token is failing and signing is stopped; the operator has been alerted/);
    await expect.poll(() => ca!.notified()).toContain('token.failing');
    // Nothing more was tried on the token.
    expect(ca.card.signatures().filter((s) => s.rv === 0x30)).toHaveLength(4);

    // Pulled out and put back: the PIN is asked again and signing resumes.
    ca.card.injectDeviceErrors(0);
    ca.card.removeToken();
    await ca.server.waitFor('token.removed', 1, 10_000);
    ca.card.insertToken();
    await typePinAtPrompt(ca.pty!, ca.token.pin, 2);
    await ca.server.waitFor('pin.accepted', 2, 10_000);
    await expectCertificate(ca, 'After Re-insertion');
  });

  it('checks a token model with --token-selftest: the PIN counter without a try, and the signature rate', async () => {
    const token = createTestToken({ label: `selftest-${process.pid}`, keyType: 'rsa', owner: 'causer' });
    const card = createSmartcardControl('causer');
    const fixture = makeServerFixture(token, { PKCS11_MODULE: smartcardModule(), PKCS11_ENV: card.pkcs11Env(token) });
    const selftest = (pin: string): Promise<{ code: number | null; stdout: string }> => {
      const child = spawn(SERVER_BIN, ['--token-selftest', '--config', fixture.configPath, '--pin-fd', '3'], {
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      });
      (child.stdio[3] as Writable).on('error', () => undefined).end(`${pin}\n`);
      let stdout = '';
      child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout })));
    };
    try {
      const good = await selftest(token.pin);
      expect(good.code, good.stdout).toBe(0);
      expect(good.stdout).toContain(`token "${token.label}", serial ${token.serial}`);
      expect(good.stdout).toContain('PIN counter: no wrong PIN since the last good login');
      const rate = /5 signatures in [\d.]+ s: ([\d.]+) ms each on average, the slowest [\d.]+ ms; ([\d.]+) signatures\/s/.exec(good.stdout);
      expect(rate, good.stdout).not.toBeNull();
      expect(Number(rate![1])).toBeGreaterThanOrEqual(250);
      expect(Number(rate![2])).toBeLessThanOrEqual(4);
      console.log(`token self-test on the 250 ms module: ${rate![0]}`);

      // Two wrong PINs elsewhere: the self-test reports the final try and does not spend it from --pin-fd.
      for (let i = 0; i < 2; i++) expect(() => smartcardTool({ card, token }, ['--login', '--pin', '00000000', '--list-objects'])).toThrow();
      const signaturesBefore = card.signatures().length;
      const finalTry = await selftest(token.pin);
      expect(finalTry.code).toBe(69);
      expect(finalTry.stdout).toContain('PIN counter: FINAL TRY: one more wrong PIN locks the token');
      expect(finalTry.stdout).toContain('signatures not timed: the token is at its final PIN try');
      expect(card.signatures()).toHaveLength(signaturesBefore);
      // The try is still there to spend (on the console, confirmed); cleared, the self-test logs in again.
      card.resetPinCounter();
      const cleared = await selftest(token.pin);
      expect(cleared.code, cleared.stdout).toBe(0);
    } finally {
      card.cleanup();
      token.cleanup();
      removeFixture(fixture);
    }
  });

  it('replaces a signer whose signature does not return within SIGNER_TIMEOUT, withholding only that one and saying why', async () => {
    ca = await startSmartcardCa('stuck', { keys: { TOKEN_POLL_INTERVAL: '1', SIGNER_TIMEOUT: '1' } });
    await ca.server.waitFor('crl.issued');
    ca.card.setSignLatency(2500);
    const stuck = logon(ca, 'Stuck');
    await ca.server.waitFor('request.received', 1);
    const waiting = logon(ca, 'Waiting Behind');
    const [withheld] = await ca.server.waitFor('cert.withheld', 1, 10_000);
    ca.card.setSignLatency(250);
    const [first, second] = await Promise.all([stuck, waiting]);
    expect(first.code).toBe(75);
    expect(first.stderr).toBe('etoken-ca: certificate withheld: the token did not finish the signature in time (SIGNER_TIMEOUT); try again\n');
    expect(second.code, second.stderr).toBe(0);
    expect(ca.server.events('cert.withheld')).toHaveLength(1);
    expect(ca.server.events('signer.exited')).toMatchObject([{ signal: 'SIGKILL' }]);
    expect(indexLines(ca).find((l) => l.includes(`\t${String(withheld!.serial)}\t`))).toMatch(/^R\t.*,cessationOfOperation\t/);
  });
});
