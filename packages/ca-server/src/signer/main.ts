/**
 * The signer process: runs as CA_USER with an empty environment, holds the
 * logged-in token session and nothing else. fd 0: requests (JSON lines),
 * fd 1: events (JSON lines, nothing else ever), fd 2: one-line diagnostics,
 * fd 3: the PIN, read once until EOF.
 */
import { readFileSync } from 'node:fs';
import { loadConfig, type Config } from '@etoken-ca/contract/config';
import { EtokenError, ExitCode } from '@etoken-ca/contract/exit-codes';
import { faultPoint } from '@etoken-ca/contract/fault-point';
import type { SignerEvent } from '../ipc.js';
import { openPkcs11Token, pkcs11OptionsFromConfig } from '../token/graphene-token.js';
import { TokenError, type Token } from '../token/token.js';
import { parseCaCertificate, type CaCertificate } from '../x509/ca-certificate.js';
import { createCertTemplate, type CertTemplate } from '../x509/template.js';
import { createSignerHandler, type SignerHandler } from './certificate-signer.js';
import { MalformedRequest, parseSignerRequest } from './requests.js';
import { readAllSync, SyncRequestReader, writeLineSync } from './sync-io.js';

const REQUEST_FD = 0;
const EVENT_FD = 1;
const DIAGNOSTIC_FD = 2;
const PIN_FD = 3;
const MAX_PIN_BYTES = 256;
// Request lines are small: a CRL's TBSCertList follows its line as raw bytes.
const MAX_REQUEST_LINE = 1 << 20;
/** Requests already waiting are signed together before one presence check; this many at most (about 16 ms of signing). */
const MAX_BATCH = 16;

const emit = (event: SignerEvent): void => writeLineSync(EVENT_FD, JSON.stringify(event));
const diagnose = (line: string): void => writeLineSync(DIAGNOSTIC_FD, `etoken-ca-signer: ${line.replace(/[\r\n]+/g, ' ')}`);

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
    let ca: CaCertificate;
    try {
      ca = parseCaCertificate(readFileSync(config.caCert));
    } catch (e) {
      throw new EtokenError(ExitCode.config, `${config.caCert}: cannot use the CA certificate: ${(e as Error).message}`);
    }
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

/** Reads the PIN once, logs in, and wipes the bytes; a rejected PIN ends the process (never retried). */
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

/** One request line's event, if it has one (a line without a usable id has nobody to answer). */
function serveLine(line: string, input: SyncRequestReader, signer: SignerHandler): SignerEvent | undefined {
  if (line.trim() === '') return undefined;
  try {
    const request = parseSignerRequest(line, (bytes) => input.bytes(bytes));
    const signs = request.type === 'sign-cert';
    if (signs) faultPoint('signer.on-receipt');
    const event = signer.handle(request);
    if (signs) faultPoint('signer.after-sign');
    return event;
  } catch (e) {
    if (!(e instanceof MalformedRequest)) throw e;
    diagnose(`malformed request: ${e.message}`);
    return e.id === undefined ? undefined : { type: 'error', id: e.id, reason: e.message, tokenGone: false };
  }
}

function serve(token: Token, ca: CaCertificate, template: CertTemplate): void {
  const signer = createSignerHandler(template, ca, token, diagnose);
  const input = new SyncRequestReader(REQUEST_FD, MAX_REQUEST_LINE);
  for (let line = input.line(); line !== null; line = input.line()) {
    const events: SignerEvent[] = [];
    // Waits only for the first line; the rest of a batch is what had already arrived.
    for (let next: string | null = line; next !== null; next = events.length < MAX_BATCH && input.hasLine() ? input.line() : null) {
      const event = serveLine(next, input, signer);
      if (event) events.push(event);
    }
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
