/**
 * `etoken-ca-server --token-selftest`: how a token model behaves with the
 * product, for an operator putting a new one into service. A short-lived
 * process as CA_USER (signer/token-selftest-main.js) finds the token and its
 * CA key; its PIN counter is reported from the token's flags, which costs no
 * try. Then, when a PIN can be had (the console, or --pin-fd), it is tried
 * exactly as the signer tries it: never on a locked token, never past a
 * final try the operator did not confirm on the console (--pin-fd never
 * confirms one), and a few signatures of a test text are timed: the rate is
 * what the server can sign at, and what CLIENT_TIMEOUT must be planned with.
 */
import { fileURLToPath } from 'node:url';
import type { Config } from '@etoken-ca/contract/core/config';
import { ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { encodeSignerRequest, readSignerEvent, type SignerEvent, type TokenInfo } from '@etoken-ca/protocol/signer-messages';
import { ProtocolViolation } from '@etoken-ca/protocol/violation';
import type { Account } from '../../launch/account.js';
import type { AuditLog } from '../audit-log.js';
import type { PinSource } from '../pin-source.js';
import { FramedWorker } from '../workers/framed-worker.js';

const SCRIPT = fileURLToPath(new URL('../../signer/token-selftest-main.js', import.meta.url));

export interface SelftestOptions {
  readonly config: Config;
  readonly account: Account;
  /** null: report the token and its PIN counter only. */
  readonly pins: PinSource | null;
  /** The PIN source has an operator who confirms a final try (the console); --pin-fd has none. */
  readonly confirmsFinalTry: boolean;
  readonly log: AuditLog;
  readonly out: (line: string) => void;
}

/** The PIN counter as the token's flags tell it, in words. */
export function pinCounterText(token: TokenInfo): string {
  if (token.pinLocked) return 'LOCKED: every PIN is refused until the token is unlocked with the SO PIN';
  if (token.pinFinalTry) return 'FINAL TRY: one more wrong PIN locks the token';
  if (token.pinCountLow) return 'count low: a wrong PIN was entered since the last good login';
  return 'no wrong PIN since the last good login';
}

export function rateText(timed: Extract<SignerEvent, { type: 'timed' }>): string {
  const eachMs = timed.totalUs / 1000 / timed.signatures;
  const perSecond = 1000 / eachMs;
  return (
    `${timed.signatures} signatures in ${(timed.totalUs / 1e6).toFixed(2)} s: ${eachMs.toFixed(1)} ms each on average, ` +
    `the slowest ${(timed.slowestUs / 1000).toFixed(1)} ms; ${perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1)} signatures/s`
  );
}

export function runTokenSelftest(o: SelftestOptions): Promise<number> {
  return new Promise((resolve) => {
    let exitCode: number = ExitCode.unavailable;
    let token: TokenInfo | null = null;
    /** What the process may say next: the token once, then nothing until the login was sent, then its outcome once. */
    let turn: 'token' | 'pin' | 'login' | 'done' = 'token';
    const inTurn = (event: SignerEvent, expected: typeof turn, next: typeof turn): void => {
      if (turn !== expected) throw new ProtocolViolation(`${event.type} event out of turn`);
      turn = next;
    };
    const cancel = new AbortController();
    const worker = new FramedWorker<SignerEvent>(
      { name: 'token self-test', script: SCRIPT, args: ['--config', o.config.file], account: o.account, extraPipes: 1 },
      { maxLine: 4096, maxPayload: 0 },
      {
        read: readSignerEvent,
        onMessage: (event) => {
          switch (event.type) {
            case 'token':
              inTurn(event, 'token', 'pin');
              token = event.token;
              o.out(`token "${event.token.label}", serial ${event.token.serial} (PKCS11_MODULE ${o.config.pkcs11Module})`);
              o.out(`PIN counter: ${pinCounterText(event.token)}`);
              void login(event.token);
              return;
            case 'timed':
              inTurn(event, 'login', 'done');
              o.out(rateText(event));
              o.log.info({ event: 'token.selftest', tokenSerial: token?.serial, signatures: event.signatures, totalUs: event.totalUs, slowestUs: event.slowestUs }, rateText(event));
              exitCode = ExitCode.ok;
              return;
            case 'login-failed':
              inTurn(event, 'login', 'done');
              o.out(`PIN ${event.notTried ? 'not tried' : 'refused'}: ${event.reason}`);
              exitCode = ExitCode.noPermission;
              return;
            case 'fatal':
              turn = 'done';
              o.out(`token not usable: ${event.reason}`);
              exitCode = event.tokenGone ? ExitCode.unavailable : ExitCode.software;
              return;
            default:
              throw new ProtocolViolation(`a ${event.type} event from the self-test process`);
          }
        },
        onDiagnostic: (line) => o.log.warn({ event: 'worker.diagnostic', worker: 'token self-test' }, line),
        onViolation: (v) => {
          turn = 'done';
          o.out(`the self-test process broke the protocol: ${v.message}`);
          exitCode = ExitCode.software;
        },
        onExit: () => {
          clearTimeout(timer);
          cancel.abort('gone');
          resolve(exitCode);
        },
      },
    );
    worker.pipe(3).on('error', () => undefined);
    // Five signatures on a slow token and a login: each may take up to SIGNER_TIMEOUT.
    const timer = setTimeout(() => worker.kill(), 7 * o.config.signerTimeout * 1000);

    /** Asks for the PIN where it can be had without using up a try; without one, the counter was the report. */
    async function login(shown: TokenInfo): Promise<void> {
      const stop = (line: string, code: number): void => {
        o.out(line);
        exitCode = code;
        worker.end();
      };
      if (shown.pinLocked) return stop('signatures not timed: the PIN is locked', ExitCode.unavailable);
      if (!o.pins) return stop('signatures not timed: no PIN given (use the console PIN_TTY, or --pin-fd with ALLOW_PIN_FD=yes)', ExitCode.ok);
      if (shown.pinFinalTry && !o.confirmsFinalTry) return stop('signatures not timed: the token is at its final PIN try, and --pin-fd cannot confirm one; run the self-test on the console', ExitCode.unavailable);
      const pin = await o.pins.ask(shown, false, cancel.signal);
      if (!pin || pin.length === 0) return stop('signatures not timed: no PIN given', ExitCode.ok);
      // The process may have failed or broken the protocol while the operator typed: it gets no PIN then.
      if (turn !== 'pin') return void pin.fill(0);
      const pipe = worker.pipe(3);
      pipe.write(Buffer.from(pin));
      pipe.end();
      pin.fill(0);
      turn = 'login';
      worker.send(encodeSignerRequest({ type: 'login', serial: shown.serial, finalTryConfirmed: shown.pinFinalTry }));
      worker.end();
    }
  });
}
