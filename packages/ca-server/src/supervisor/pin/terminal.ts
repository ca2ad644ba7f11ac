/** The port between PIN entry and the console it runs on (a real TTY, or a fake in tests). */
export interface PinTerminal {
  /** Throws away whatever was typed and not read yet. */
  discardPending(): void;
  write(text: string): void;
  /** The next bytes typed. The caller wipes them. Rejects when the terminal is gone or `cancelled` fires. */
  read(cancelled: AbortSignal): Promise<Buffer>;
}
