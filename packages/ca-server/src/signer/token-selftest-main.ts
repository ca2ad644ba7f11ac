/**
 * `etoken-ca-server --token-selftest`, the token's side, run like the signer
 * as CA_USER: finds the token and its CA key (no PIN), reports its facts and
 * PIN flags, and waits for a login request. Given one, it logs in with the
 * PIN on fd 3 exactly as the signer does (on this token only, never past a
 * final try nobody confirmed, never on a locked PIN), times SIGNATURES
 * signatures of a test text with the CA key (never a certificate or a CRL:
 * the text starts with "etoken-ca", no DER structure does), checks each with
 * the CA public key, and reports the times. Frames on fd 1 as the signer's.
 */
import { randomBytes, verify } from 'node:crypto';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { readCaCertificate } from '@etoken-ca/contract/io/ca-certificate-file';
import { loadConfig } from '@etoken-ca/contract/io/load-config';
import { encodeSignerEvent, readSignerRequest, type SignerEvent } from '@etoken-ca/protocol/signer-messages';
import { caKeyTypeOf, signatureAlgorithm } from '@etoken-ca/x509/signature-algorithm';
import { parseCaCertificate } from '@etoken-ca/x509/ca-certificate';
import { logInWithPin } from './login.js';
import { readAllSync, SyncFrameReader, writeAllSync } from './sync-io.js';
import { openPkcs11Token, pkcs11OptionsFromConfig } from './token/graphene-token.js';
import { TokenError, type Token } from './token/token.js';

const SIGNATURES = 5;
const PIN_FD = 3;
const MAX_PIN_BYTES = 256;

const emit = (event: SignerEvent): void => writeAllSync(1, encodeSignerEvent(event));

function end(event: SignerEvent, exitCode: number, token?: Token): never {
  emit(event);
  token?.close();
  process.exit(exitCode);
}

function main(argv: readonly string[]): void {
  if (argv.length !== 2 || argv[0] !== '--config' || !argv[1]) {
    process.stderr.write('usage: token-selftest-main.js --config FILE\n');
    process.exit(ExitCode.usage);
  }
  let token: Token;
  let caKey;
  try {
    const config = loadConfig(argv[1]);
    caKey = parseCaCertificate(readCaCertificate(config.caCert).der).publicKey;
    token = openPkcs11Token(pkcs11OptionsFromConfig(config, caKey));
  } catch (e) {
    const gone = e instanceof TokenError && (e.kind === 'gone' || e.kind === 'not-found' || e.kind === 'device');
    return end({ type: 'fatal', reason: (e as Error).message, tokenGone: gone }, e instanceof EtokenError ? e.exitCode : ExitCode.unavailable);
  }
  emit({ type: 'token', token: token.info });
  const input = new SyncFrameReader(0, { maxLine: 4096, maxPayload: 0 });
  const frames = input.next(1);
  const request = frames?.[0] ? readSignerRequest(frames[0]) : null;
  if (!request || request.type !== 'login') {
    token.close();
    process.exit(ExitCode.ok);
  }
  const login = logInWithPin(token, request, () => readAllSync(PIN_FD, MAX_PIN_BYTES));
  if (!login.ok) return end(login.event, login.exitCode, token);
  const hash = signatureAlgorithm(caKeyTypeOf(caKey)).hash;
  let totalUs = 0;
  let slowestUs = 0;
  for (let i = 0; i < SIGNATURES; i++) {
    const text = Buffer.concat([Buffer.from('etoken-ca token self-test '), randomBytes(16)]);
    const started = performance.now();
    let signature: Buffer;
    try {
      signature = token.sign(text);
    } catch (e) {
      return end({ type: 'fatal', reason: `signature ${i + 1}: ${(e as Error).message}`, tokenGone: e instanceof TokenError && e.kind === 'gone' }, ExitCode.unavailable, token);
    }
    const us = Math.round((performance.now() - started) * 1000);
    if (!verify(hash, text, caKey, signature)) return end({ type: 'fatal', reason: `signature ${i + 1} does not verify with the CA public key`, tokenGone: false }, ExitCode.software, token);
    totalUs += us;
    slowestUs = Math.max(slowestUs, us);
  }
  end({ type: 'timed', signatures: SIGNATURES, totalUs, slowestUs }, ExitCode.ok, token);
}

try {
  main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`etoken-ca-token-selftest: internal error: ${(e as Error).message}\n`);
  process.exit(ExitCode.software);
}
