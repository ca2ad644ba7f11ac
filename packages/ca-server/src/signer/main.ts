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
import { encodeSignerEvent, MAX_CRL_TBS, MAX_SIGNING_BATCH, readSignerRequest, type SignerEvent, type SignerRequest } from '@etoken-ca/protocol/signer-messages';
import { ProtocolViolation } from '@etoken-ca/protocol/violation';
import { parseCaCertificate, type CaCertificate } from '@etoken-ca/x509/ca-certificate';
import { createCertTemplate, type CertTemplate } from '@etoken-ca/x509/template';
import type { Frame } from '@etoken-ca/protocol/frames';
import type { LoginRequest } from '@etoken-ca/protocol/signer-messages';
import { createSignerHandler, type SignerHandler } from './certificate-signer.js';
import { logInWithPin } from './login.js';
import { readAllSync, SyncFrameReader, writeAllSync } from './sync-io.js';
import { openPkcs11Token, pkcs11OptionsFromConfig } from './token/graphene-token.js';
import { TokenError, type Token } from './token/token.js';

const REQUEST_FD = 0;
const EVENT_FD = 1;
const DIAGNOSTIC_FD = 2;
const PIN_FD = 3;
const MAX_PIN_BYTES = 256;
/** Requests already waiting (MAX_SIGNING_BATCH at most) are signed together before one presence check, for this long at most, so that a slow token's answers are not held back by the ones after them. */
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

/** Logs in with the PIN on its pipe; a PIN rejected or not tried, or a token gone, ends the process. */
function logIn(token: Token, request: LoginRequest): void {
  const result = logInWithPin(token, request, () => readAllSync(PIN_FD, MAX_PIN_BYTES));
  if (result.ok) return;
  const { event } = result;
  diagnose(event.type === 'login-failed' ? `login ${event.notTried ? 'not tried' : 'failed'}: ${event.reason}` : event.type === 'fatal' ? event.reason : 'login failed');
  emit(event);
  token.close();
  process.exit(result.exitCode);
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

type Taken = { readonly request: Exclude<SignerRequest, LoginRequest> } | { readonly refused: SignerEvent };

/** One frame read. A request that is malformed but names itself is answered as an error; one that does not ends the signer. */
function take(frame: Frame): Taken {
  try {
    const request = readSignerRequest(frame);
    if (request.type === 'login') throw new ProtocolViolation('a login request after the login');
    return { request };
  } catch (e) {
    if (!(e instanceof ProtocolViolation) || e.id === undefined) throw e;
    diagnose(`malformed request: ${e.message}`);
    return { refused: { type: 'error', id: e.id, reason: e.message, tokenGone: false } };
  }
}

function serveRequest(request: Exclude<SignerRequest, LoginRequest>, signer: SignerHandler): SignerEvent {
  const signs = request.type === 'sign-cert';
  if (signs) faultPoint('signer.on-receipt');
  const event = signer.handle(request);
  if (signs) faultPoint('signer.after-sign');
  return event;
}

/**
 * The signing requests of each batch are announced before the first of them goes to the token: the supervisor
 * learns which requests may have reached the token, should the signer never answer. After a signature slower
 * than BATCH_MS, a batch is one request, so that a token that hangs holds up only the one it was given.
 */
function serve(token: Token, ca: CaCertificate, template: CertTemplate, input: SyncFrameReader): void {
  const signer = createSignerHandler(template, ca, token, diagnose);
  const flush = (events: SignerEvent[]): void => {
    for (const event of signer.confirm(events)) emit(event);
  };
  let slow = false;
  for (let frames = input.next(slow ? 1 : MAX_SIGNING_BATCH); frames !== null; frames = input.next(slow ? 1 : MAX_SIGNING_BATCH)) {
    const taken = frames.map(take);
    const ids = taken.flatMap((t) => ('request' in t && t.request.type !== 'check' ? [t.request.id] : []));
    if (ids.length > 0) emit({ type: 'signing', ids });
    let batch: SignerEvent[] = [];
    let began = performance.now();
    for (const t of taken) {
      const started = performance.now();
      const event = 'refused' in t ? t.refused : serveRequest(t.request, signer);
      if ('request' in t && t.request.type !== 'check') slow = performance.now() - started >= BATCH_MS;
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
