/**
 * The signer process, started by the supervisor through child-entry.js as
 * CA_USER: holds the logged-in token session and nothing else. fd 0:
 * requests (frames), fd 1: events (frames, nothing else ever), fd 2:
 * one-line diagnostics, fd 3: the PIN, read once until EOF. Every request is
 * checked before anything uses it; a frame it cannot read means the
 * supervisor is broken, and the signer stops.
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
    return fatal(error.message, error.kind === 'gone' || error.kind === 'not-found', ExitCode.unavailable);
  }
}

/**
 * Reads the PIN once, logs in, and wipes the bytes; a rejected PIN ends the
 * process (never retried). The PKCS#11 binding takes the PIN only as a JS
 * string, which cannot be wiped: it lives for the one login call.
 */
function logIn(token: Token): void {
  let pin: Buffer = Buffer.alloc(0);
  let failure: TokenError | undefined;
  try {
    pin = readAllSync(PIN_FD, MAX_PIN_BYTES);
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
  emit({ type: 'login-failed', reason: failure.message, pinIncorrect: failure.kind === 'pin-incorrect', pinLocked: failure.kind === 'pin-locked' });
  token.close();
  process.exit(ExitCode.noPermission);
}

/** One frame's event. A request that is malformed but names itself is answered as an error; one that does not ends the signer. */
function serveFrame(frame: Frame, signer: SignerHandler): SignerEvent {
  try {
    const request = readSignerRequest(frame);
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

function serve(token: Token, ca: CaCertificate, template: CertTemplate): void {
  const signer = createSignerHandler(template, ca, token, diagnose);
  const input = new SyncFrameReader(REQUEST_FD, { maxLine: 64 * 1024, maxPayload: MAX_CRL_TBS });
  for (let frames = input.next(MAX_BATCH); frames !== null; frames = input.next(MAX_BATCH)) {
    const events = frames.map((frame) => serveFrame(frame, signer));
    for (const event of signer.confirm(events)) emit(event);
  }
}

function main(): void {
  const { config, ca, template } = loadSetup(configFileFromArgv(process.argv.slice(2)));
  const token = openToken(config, ca);
  emit({ type: 'token', token: token.info });
  logIn(token);
  emit({ type: 'ready' });
  try {
    serve(token, ca, template);
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
