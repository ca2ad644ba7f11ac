/**
 * The signer process, started by the supervisor through child-entry.js as
 * CA_USER: holds the logged-in token session and nothing else. fd 0:
 * requests (frames), fd 1: events (frames, nothing else ever), fd 2:
 * one-line diagnostics, fd 3: the PIN, read once until EOF when the login
 * request comes. Until then it answers presence checks with the token's
 * current PIN flags, so a token pulled while the operator types is noticed.
 * Every request is checked before anything uses it; a frame it cannot read
 * means the supervisor is broken, and the signer stops.
 *
 * Answers go out in batches that share one presence check, but a batch ends
 * once it has taken BATCH_MS: on a token that takes a quarter of a second per
 * signature each answer leaves as soon as its own check is done. A token
 * found gone ends the signer after its answers: nothing more is started.
 */
import type { Config } from '@etoken-ca/contract/core/config';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { readCaCertificate } from '@etoken-ca/contract/io/ca-certificate-file';
import { faultPoint } from '@etoken-ca/contract/io/fault-point';
import { loadConfig } from '@etoken-ca/contract/io/load-config';
import { encodeSignerEvent, MAX_CRL_TBS, readSignerRequest, type SignerEvent } from '@etoken-ca/protocol/signer-messages';
import { ProtocolViolation } from '@etoken-ca/protocol/violation';
import { parseCaCertificate, type CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { createCertTemplate, type CertTemplate } from '@etoken-ca/x509/template';
import type { Frame } from '@etoken-ca/protocol/frames';
import type { LoginRequest } from '@etoken-ca/protocol/signer-messages';
import { createSignerHandler, type SignerHandler } from './certificate-signer.js';
import { readAllSync, SyncFrameReader, writeAllSync } from './sync-io.js';
import { openPkcs11Token, pkcs11OptionsFromConfig } from './token/graphene-token.js';
import { TokenError, type Token } from './token/token.js';

const REQUEST_FD = 0;
const EVENT_FD = 1;
const DIAGNOSTIC_FD = 2;
const PIN_FD = 3;
const MAX_PIN_BYTES = 256;
/** Requests already waiting are signed together before one presence check; this many at most. */
const MAX_BATCH = 16;
/** ... and for this long at most, so that a slow token's answers are not held back by the ones after them. */
const BATCH_MS = 20;
const FRAME_LIMITS = { maxLine: 64 * 1024, maxPayload: MAX_CRL_TBS };

const emit = (event: SignerEvent): void => writeAllSync(EVENT_FD, encodeSignerEvent(event));
const diagnose = (line: string): void => writeAllSync(DIAGNOSTIC_FD, [Buffer.from(`etoken-ca-signer: ${line.replace(/[\r\n]+/g, ' ')}\n`)]);

function fatal(reason: string, tokenGone: boolean, exitCode: number): never {
  diagnose(reason);
  emit({ type: 'fatal', reason, tokenGone });
  process.exit(exitCode);
}

function configFileFromArgv(argv: readonly string[]): string {
  if (argv.length !== 2 || argv[0] !== '--config' || !argv[1]) {
    diagnose('usage: main.js --config FILE');
    process.exit(ExitCode.usage);
  }
  return argv[1];
}

function loadSetup(file: string): { config: Config; ca: CaCertificate; template: CertTemplate } {
  try {
    const config = loadConfig(file);
    const ca = parseCaCertificate(readCaCertificate(config.caCert).der);
    return { config, ca, template: createCertTemplate(config, ca) };
  } catch (e) {
    const exitCode = e instanceof EtokenError ? e.exitCode : ExitCode.config;
    return fatal((e as Error).message, false, exitCode);
  }
}

function openToken(config: Config, ca: CaCertificate): Token {
  try {
    return openPkcs11Token(pkcs11OptionsFromConfig(config, ca.publicKey));
  } catch (e) {
    const error = e instanceof TokenError ? e : new TokenError('failed', (e as Error).message);
    return fatal(error.message, error.kind === 'gone' || error.kind === 'not-found' || error.kind === 'device', ExitCode.unavailable);
  }
}

/** Why the PIN must not be tried now, or null: the token must be the one it was asked for, its counter as the operator saw it. */
function loginRefusal(token: Token, request: LoginRequest): { reason: string; gone: boolean; locked?: boolean } | null {
  const presence = token.checkPresence();
  if (!presence.ok) return { reason: `token check before the login failed: ${presence.reason ?? ''}`, gone: true };
  let now;
  try {
    now = token.currentInfo();
  } catch (e) {
    return { reason: (e as Error).message, gone: true };
  }
  if (now.serial !== request.serial || now.serial !== token.info.serial) return { reason: `token serial is now ${now.serial}, not ${request.serial}`, gone: true };
  if (now.pinLocked) return { reason: 'the PIN is locked: not tried', gone: false, locked: true };
  if (now.pinFinalTry && !request.finalTryConfirmed) return { reason: 'the token is now at its final PIN try, which the operator did not confirm: not tried', gone: false };
  return null;
}

/**
 * Reads the PIN once, checks the token is still the one it was asked for,
 * logs in, and wipes the bytes; a rejected PIN ends the process (never
 * retried), and so does a PIN not tried. The PKCS#11 binding takes the PIN
 * only as a JS string, which cannot be wiped: it lives for the one login call.
 */
function logIn(token: Token, request: LoginRequest): void {
  let pin: Buffer = Buffer.alloc(0);
  let failure: TokenError | undefined;
  try {
    pin = readAllSync(PIN_FD, MAX_PIN_BYTES);
    const refusal = loginRefusal(token, request);
    if (refusal?.gone) {
      pin.fill(0);
      fatal(refusal.reason, true, ExitCode.unavailable);
    }
    if (refusal) {
      diagnose(`login not tried: ${refusal.reason}`);
      emit({ type: 'login-failed', reason: refusal.reason, pinIncorrect: false, pinLocked: refusal.locked === true, notTried: true });
      pin.fill(0);
      token.close();
      process.exit(ExitCode.noPermission);
    }
    let end = pin.length;
    if (pin[end - 1] === 0x0a) end--;
    if (pin[end - 1] === 0x0d) end--;
    if (end === 0) throw new TokenError('pin-length', 'empty PIN');
    token.login(pin.toString('utf8', 0, end));
  } catch (e) {
    failure = e instanceof TokenError ? e : new TokenError('failed', `reading the PIN: ${(e as Error).message}`);
  } finally {
    pin.fill(0);
  }
  if (!failure) return;
  diagnose(`login failed: ${failure.message}`);
  // A token that went away during the login did not judge the PIN.
  if (failure.kind === 'gone' || failure.kind === 'device') fatal(`login: ${failure.message}`, true, ExitCode.unavailable);
  emit({ type: 'login-failed', reason: failure.message, pinIncorrect: failure.kind === 'pin-incorrect', pinLocked: failure.kind === 'pin-locked' });
  token.close();
  process.exit(ExitCode.noPermission);
}

/** Until the login request: presence checks answered with the token's current facts. Null when the supervisor closed the pipe. */
function awaitLogin(token: Token, input: SyncFrameReader): LoginRequest | null {
  for (;;) {
    const frames = input.next(1);
    if (frames === null) return null;
    for (const frame of frames) {
      let request;
      try {
        request = readSignerRequest(frame);
      } catch (e) {
        if (!(e instanceof ProtocolViolation) || e.id === undefined) throw e;
        diagnose(`malformed request: ${e.message}`);
        emit({ type: 'error', id: e.id, reason: e.message, tokenGone: false });
        continue;
      }
      if (request.type === 'login') return request;
      if (request.type !== 'check') {
        emit({ type: 'error', id: request.id, reason: 'not logged in yet', tokenGone: false });
        continue;
      }
      const presence = token.checkPresence();
      if (!presence.ok) {
        emit({ type: 'check', id: request.id, ok: false, reason: presence.reason ?? 'token check failed' });
        continue;
      }
      try {
        emit({ type: 'check', id: request.id, ok: true, token: token.currentInfo() });
      } catch (e) {
        emit({ type: 'check', id: request.id, ok: false, reason: (e as Error).message });
      }
    }
  }
}

/**
 * One frame's event. A request that is malformed but names itself is answered as an error; one that does not ends
 * the signer. A signing request is announced before anything is done with it: the supervisor learns which requests
 * may have reached the token, should the signer never answer.
 */
function serveFrame(frame: Frame, signer: SignerHandler): SignerEvent {
  try {
    const request = readSignerRequest(frame);
    if (request.type === 'login') throw new ProtocolViolation('a login request after the login');
    if (request.type !== 'check') emit({ type: 'signing', id: request.id });
    const signs = request.type === 'sign-cert';
    if (signs) faultPoint('signer.on-receipt');
    const event = signer.handle(request);
    if (signs) faultPoint('signer.after-sign');
    return event;
  } catch (e) {
    if (!(e instanceof ProtocolViolation) || e.id === undefined) throw e;
    diagnose(`malformed request: ${e.message}`);
    return { type: 'error', id: e.id, reason: e.message, tokenGone: false };
  }
}

function serve(token: Token, ca: CaCertificate, template: CertTemplate, input: SyncFrameReader): void {
  const signer = createSignerHandler(template, ca, token, diagnose);
  const flush = (events: SignerEvent[]): void => {
    for (const event of signer.confirm(events)) emit(event);
  };
  for (let frames = input.next(MAX_BATCH); frames !== null; frames = input.next(MAX_BATCH)) {
    let batch: SignerEvent[] = [];
    let began = performance.now();
    for (const frame of frames) {
      const event = serveFrame(frame, signer);
      batch.push(event);
      if (event.type === 'error' && event.tokenGone) {
        flush(batch);
        fatal(`token gone: ${event.reason}`, true, ExitCode.unavailable);
      }
      if (performance.now() - began >= BATCH_MS) {
        flush(batch);
        batch = [];
        began = performance.now();
      }
    }
    flush(batch);
  }
}

function main(): void {
  const { config, ca, template } = loadSetup(configFileFromArgv(process.argv.slice(2)));
  const token = openToken(config, ca);
  const input = new SyncFrameReader(REQUEST_FD, FRAME_LIMITS);
  emit({ type: 'token', token: token.info });
  const login = awaitLogin(token, input);
  if (!login) {
    token.close();
    process.exit(ExitCode.ok);
  }
  logIn(token, login);
  emit({ type: 'ready' });
  try {
    serve(token, ca, template, input);
  } finally {
    token.close();
  }
  process.exit(ExitCode.ok);
}

try {
  main();
} catch (e) {
  diagnose(`internal error: ${(e as Error).message}`);
  process.exit(ExitCode.software);
}
