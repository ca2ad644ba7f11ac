import { describe, expect, it } from 'vitest';
import type { TokenInfo } from '@etoken-ca/protocol/signer-messages';
import { ConsolePinSource } from './console-pin-source.js';
import { FINAL_TRY_QUESTION, PIN_PROMPT } from './prompt-text.js';
import type { PinTerminal } from './terminal.js';

const TOKEN: TokenInfo = { label: 'CA token', serial: '0123456789abcdef', slot: 0, pinCountLow: false, pinFinalTry: false, pinLocked: false };

/** A console whose operator types the next scripted answer each time a question is shown. */
class ScriptedConsole implements PinTerminal {
  output = '';
  discards = 0;
  reads = 0;
  private pending: Buffer[] = [];
  private waiting: ((chunk: Buffer) => void) | null = null;
  readonly handedOut: Buffer[] = [];

  constructor(private readonly answers: string[]) {}

  /** Typed before anything was asked. */
  typeAhead(text: string): void {
    this.pending.push(Buffer.from(text, 'latin1'));
  }

  discardPending(): void {
    this.discards++;
    this.pending = [];
  }

  write(text: string): void {
    this.output += text;
    if (text === PIN_PROMPT || text === FINAL_TRY_QUESTION) {
      const answer = this.answers.shift();
      if (answer !== undefined) this.deliver(Buffer.from(answer, 'latin1'));
    }
  }

  read(cancelled: AbortSignal): Promise<Buffer> {
    this.reads++;
    const next = this.pending.shift();
    if (next) return Promise.resolve(this.handOut(next));
    return new Promise((resolve, reject) => {
      this.waiting = (chunk) => resolve(this.handOut(chunk));
      cancelled.addEventListener('abort', () => reject(cancelled.reason));
    });
  }

  private handOut(chunk: Buffer): Buffer {
    this.handedOut.push(chunk);
    return chunk;
  }

  private deliver(chunk: Buffer): void {
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) waiting(chunk);
    else this.pending.push(chunk);
  }
}

/** A PIN request nobody cancels. */
const live = (): AbortSignal => new AbortController().signal;

function source(console: ScriptedConsole, warnings: string[] = []): ConsolePinSource {
  return new ConsolePinSource(console, { warnEachUse: (m) => warnings.push(m), onFailure: (m) => warnings.push(`failure: ${m}`) });
}

describe('ConsolePinSource', () => {
  it('shows the label and serial and returns the typed PIN, with nothing echoed', async () => {
    const console = new ScriptedConsole(['9753\r']);
    const pin = await source(console).ask(TOKEN, false, live());
    expect(pin?.toString()).toBe('9753');
    expect(console.output).toContain('token "CA token", serial 0123456789abcdef');
    expect(console.output).not.toContain('9753');
  });

  it('discards what was typed before the prompt', async () => {
    const console = new ScriptedConsole(['good\r']);
    console.typeAhead('stray\r');
    expect((await source(console).ask(TOKEN, false, live()))?.toString()).toBe('good');
    expect(console.discards).toBeGreaterThanOrEqual(1);
  });

  it('never hands out an empty PIN: it asks again', async () => {
    const console = new ScriptedConsole(['\r', '\x04', '42\r']);
    expect((await source(console).ask(TOKEN, false, live()))?.toString()).toBe('42');
    expect(console.output).toContain('Empty PIN: nothing sent.');
    expect(console.output.split(PIN_PROMPT)).toHaveLength(4);
  });

  it('handles Ctrl-C, backspace, Ctrl-U and arrow keys', async () => {
    const console = new ScriptedConsole(['abc\x03', 'x\x1512\x7f3\x1b[D4\r']);
    expect((await source(console).ask(TOKEN, false, live()))?.toString()).toBe('134');
    expect(console.output).toContain('Cancelled.');
  });

  it('refuses a line longer than a PIN', async () => {
    const console = new ScriptedConsole([`${'9'.repeat(300)}\r`, 'ok\r']);
    expect((await source(console).ask(TOKEN, false, live()))?.toString()).toBe('ok');
    expect(console.output).toContain('Too long');
  });

  it('says that the last PIN was rejected and asks the operator again', async () => {
    const console = new ScriptedConsole(['again\r']);
    expect((await source(console).ask({ ...TOKEN, pinCountLow: true }, true, live()))?.toString()).toBe('again');
    expect(console.output).toContain('The token REJECTED the last PIN.');
    expect(console.output).toContain('PIN count low');
  });

  it('asks for confirmation at the final try and sends nothing without a yes', async () => {
    const token = { ...TOKEN, pinFinalTry: true };
    const console = new ScriptedConsole(['first\r', '\r', 'second\r', 'n\r', 'third\r', 'y\r']);
    expect((await source(console).ask(token, true, live()))?.toString()).toBe('third');
    expect(console.output).toContain('FINAL TRY: one more wrong PIN locks the token.');
    expect(console.output.split(FINAL_TRY_QUESTION)).toHaveLength(4);
    expect(console.output.match(/Not sent\./g)).toHaveLength(2);
  });

  it('reports a locked token and reads no PIN for it', async () => {
    const console = new ScriptedConsole(['never\r']);
    expect(await source(console).ask({ ...TOKEN, pinLocked: true }, false, live())).toBeNull();
    expect(console.output).toContain('PIN LOCKED');
    expect(console.output).toContain('not tried on a locked token');
    expect(console.output).not.toContain(PIN_PROMPT);
    expect(console.reads).toBe(0);
  });

  it('wipes every chunk it read', async () => {
    const console = new ScriptedConsole(['secret\r']);
    (await source(console).ask(TOKEN, false, live()))?.fill(0);
    expect(console.handedOut.length).toBeGreaterThan(0);
    for (const chunk of console.handedOut) expect(chunk.every((b) => b === 0)).toBe(true);
  });

  it('warns at each use when asked to, and prompts one ask at a time', async () => {
    const console = new ScriptedConsole(['one\r', 'two\r']);
    const warnings: string[] = [];
    const pins = source(console, warnings);
    const [a, b] = await Promise.all([pins.ask(TOKEN, false, live()), pins.ask(TOKEN, false, live())]);
    expect([a?.toString(), b?.toString()]).toEqual(['one', 'two']);
    expect(warnings).toHaveLength(2);
  });

  it('withdraws the prompt when the token goes away, wiping a PIN awaiting final-try confirmation', async () => {
    const console = new ScriptedConsole(['typed\r']);
    const request = new AbortController();
    const asked = source(console).ask({ ...TOKEN, pinFinalTry: true }, false, request.signal);
    await new Promise((r) => setImmediate(r)); // every pending step of the prompt has run
    expect(console.output).toContain(FINAL_TRY_QUESTION);
    request.abort();
    expect(await asked).toBeNull();
    expect(console.output).toContain('The token went away');
    for (const chunk of console.handedOut) expect(chunk.every((b) => b === 0)).toBe(true);
  });

  it('gives no PIN when the console fails', async () => {
    const broken: PinTerminal = { discardPending: () => undefined, write: () => undefined, read: () => Promise.reject(Object.assign(new Error('gone'), { code: 'EIO' })) };
    const failures: string[] = [];
    const pins = new ConsolePinSource(broken, { onFailure: (m) => failures.push(m) });
    expect(await pins.ask(TOKEN, false, live())).toBeNull();
    expect(failures).toEqual(['PIN console failed: EIO']);
  });
});
