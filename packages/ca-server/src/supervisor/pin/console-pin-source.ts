/**
 * PIN entry on the console: shows the token's label, serial and PIN flags,
 * discards anything typed before each prompt, reads the PIN without echo,
 * never hands out an empty PIN, asks for confirmation at the final try and
 * never tries a locked token. A prompt is withdrawn when the token goes away
 * meanwhile. A rejected PIN comes back here (the signer
 * is restarted and asks again with previousRejected): the operator types
 * it again; nothing is retried automatically.
 */
import type { TokenInfo } from '@etoken-ca/protocol/signer-messages';
import type { PinSource } from '../pin-source.js';
import {
  ACCEPTED,
  banner,
  CANCELLED,
  CHECKING,
  EMPTY_PIN,
  FINAL_TRY_QUESTION,
  FLAGS_CHANGED,
  LOCKED_REPORT,
  NOT_SENT,
  PIN_PROMPT,
  TOKEN_GONE,
  TOO_LONG,
} from './prompt-text.js';
import { SecretLine } from './secret-line.js';
import type { PinTerminal } from './terminal.js';

export interface ConsolePinSourceOptions {
  /** Called at each use of a console that is not a virtual console. */
  readonly warnEachUse?: (message: string) => void;
  /** The console stopped working (hangup, I/O error): no PIN can be had from it. */
  readonly onFailure: (message: string) => void;
}

type LineResult = { readonly kind: 'line'; readonly bytes: Buffer } | { readonly kind: 'cancel' } | { readonly kind: 'too-long' };

export class ConsolePinSource implements PinSource {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly terminal: PinTerminal,
    private readonly options: ConsolePinSourceOptions,
  ) {}

  /** One prompt at a time on the console, however many asks overlap. */
  ask(token: TokenInfo, previousRejected: boolean, cancelled: AbortSignal): Promise<Buffer | null> {
    const turn = this.queue.then(() => this.askOnce(token, previousRejected, cancelled));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  accepted(): void {
    this.safely(() => this.terminal.write(ACCEPTED));
  }

  /** A locked token is shown, with what to do, in the prompt's turn. */
  locked(token: TokenInfo): void {
    const turn = this.queue.then(() => {
      this.safely(() => {
        this.terminal.discardPending();
        this.terminal.write(banner(token, false) + LOCKED_REPORT);
      });
    });
    this.queue = turn.catch(() => undefined);
  }

  private async askOnce(token: TokenInfo, previousRejected: boolean, cancelled: AbortSignal): Promise<Buffer | null> {
    if (cancelled.aborted) return null;
    this.options.warnEachUse?.(`PIN for token ${token.label} (${token.serial}) asked on a terminal that is not a virtual console`);
    try {
      this.terminal.discardPending();
      this.terminal.write(banner(token, previousRejected));
      if (token.pinLocked) {
        this.terminal.write(LOCKED_REPORT);
        return null;
      }
      return await this.promptUntilSent(token, cancelled);
    } catch (e) {
      if (cancelled.aborted) {
        this.safely(() => this.terminal.write(cancelled.reason === 'changed' ? FLAGS_CHANGED : TOKEN_GONE));
        return null;
      }
      this.options.onFailure(`PIN console failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return null;
    }
  }

  private async promptUntilSent(token: TokenInfo, cancelled: AbortSignal): Promise<Buffer> {
    for (;;) {
      this.terminal.discardPending();
      this.terminal.write(PIN_PROMPT);
      const line = await this.readLine(cancelled);
      if (line.kind === 'cancel') {
        this.terminal.write(CANCELLED);
        continue;
      }
      if (line.kind === 'too-long') {
        this.terminal.write(TOO_LONG);
        continue;
      }
      const pin = line.bytes;
      if (pin.length === 0) {
        this.terminal.write(EMPTY_PIN);
        continue;
      }
      if (token.pinFinalTry && !(await this.confirmFinalTry(cancelled, pin))) {
        this.terminal.write(NOT_SENT);
        continue;
      }
      this.terminal.write(CHECKING);
      return pin;
    }
  }

  /** True to send `pin`; otherwise (a no, or no answer at all) `pin` is wiped. */
  private async confirmFinalTry(cancelled: AbortSignal, pin: Buffer): Promise<boolean> {
    let yes = false;
    try {
      this.terminal.discardPending();
      this.terminal.write(FINAL_TRY_QUESTION);
      const answer = await this.readLine(cancelled);
      if (answer.kind === 'line') {
        yes = /^y(es)?$/i.test(answer.bytes.toString('latin1'));
        answer.bytes.fill(0);
      }
      return yes;
    } finally {
      if (!yes) pin.fill(0);
    }
  }

  /** Reads keystrokes until Enter or a cancel; every chunk read, and the line on any way out, is wiped. */
  private async readLine(cancelled: AbortSignal): Promise<LineResult> {
    const line = new SecretLine();
    try {
      for (;;) {
        const chunk = await this.terminal.read(cancelled);
        try {
          for (const byte of chunk) {
            const outcome = line.feed(byte);
            if (outcome === 'cancel') return { kind: 'cancel' };
            if (outcome === 'submit') return line.tooLong ? { kind: 'too-long' } : { kind: 'line', bytes: line.take() };
          }
        } finally {
          chunk.fill(0);
        }
      }
    } finally {
      line.wipe();
    }
  }

  private safely(action: () => void): void {
    try {
      action();
    } catch (e) {
      this.options.onFailure(`PIN console failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}
