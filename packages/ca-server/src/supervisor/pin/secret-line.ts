/**
 * The keystrokes of one secret line, typed on a terminal in raw mode (no
 * echo, no line discipline): Enter submits, Backspace/Delete erase one
 * character, Ctrl-U erases the line, Ctrl-C and Ctrl-D abandon it. Escape
 * sequences (arrow keys, ...) and other control bytes are ignored so they
 * never become part of the secret. The bytes live in one fixed Buffer that
 * is zeroed when the line is taken or wiped.
 */
export const MAX_SECRET_BYTES = 256;

export type KeyOutcome = 'more' | 'submit' | 'cancel';

const ENTER = new Set([0x0d, 0x0a]);
const ERASE = new Set([0x7f, 0x08]);
const CANCEL = new Set([0x03, 0x04]);
const KILL_LINE = 0x15;
const ESC = 0x1b;

type EscapeState = 'none' | 'esc' | 'sequence';

export class SecretLine {
  private readonly bytes = Buffer.alloc(MAX_SECRET_BYTES);
  private length = 0;
  private overflowed = false;
  private escape: EscapeState = 'none';

  /** Feeds one typed byte. */
  feed(byte: number): KeyOutcome {
    if (this.escape !== 'none') {
      this.skipEscape(byte);
      return 'more';
    }
    if (ENTER.has(byte)) return 'submit';
    if (CANCEL.has(byte)) {
      this.wipe();
      return 'cancel';
    }
    if (ERASE.has(byte)) this.eraseCharacter();
    else if (byte === KILL_LINE) this.wipe();
    else if (byte === ESC) this.escape = 'esc';
    else if (byte >= 0x20) this.append(byte);
    return 'more';
  }

  /** True when more was typed than a PIN can hold; the line is then refused as a whole. */
  get tooLong(): boolean {
    return this.overflowed;
  }

  /** A copy of the line for the caller (who wipes it); the line itself is wiped. */
  take(): Buffer {
    const secret = Buffer.from(this.bytes.subarray(0, this.length));
    this.wipe();
    return secret;
  }

  wipe(): void {
    this.bytes.fill(0);
    this.length = 0;
    this.overflowed = false;
    this.escape = 'none';
  }

  private append(byte: number): void {
    if (this.length === MAX_SECRET_BYTES) this.overflowed = true;
    else this.bytes[this.length++] = byte;
  }

  /** Erases one UTF-8 character: its continuation bytes (10xxxxxx), then its lead byte. */
  private eraseCharacter(): void {
    while (this.length > 0 && ((this.bytes[this.length - 1] ?? 0) & 0xc0) === 0x80) this.bytes[--this.length] = 0;
    if (this.length > 0) this.bytes[--this.length] = 0;
  }

  /** ESC [ ... final or ESC O final: CSI/SS3 sequences end with a byte from 0x40 to 0x7e. */
  private skipEscape(byte: number): void {
    if (this.escape === 'esc') this.escape = byte === 0x5b || byte === 0x4f ? 'sequence' : 'none';
    else if (byte >= 0x40 && byte <= 0x7e) this.escape = 'none';
  }
}
