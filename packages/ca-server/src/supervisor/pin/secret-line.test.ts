import { describe, expect, it } from 'vitest';
import { MAX_SECRET_BYTES, SecretLine } from './secret-line.js';

function typeInto(line: SecretLine, text: string): string[] {
  return [...Buffer.from(text, 'utf8')].map((b) => line.feed(b));
}

describe('SecretLine', () => {
  it('erases whole UTF-8 characters', () => {
    const line = new SecretLine();
    typeInto(line, 'aé\x7fb€\x7f\x7fc');
    expect(line.take().toString('utf8')).toBe('ac');
  });

  it('submits on CR or LF and cancels on Ctrl-C or Ctrl-D', () => {
    expect(typeInto(new SecretLine(), 'x\n').at(-1)).toBe('submit');
    expect(typeInto(new SecretLine(), 'x\x03').at(-1)).toBe('cancel');
    expect(typeInto(new SecretLine(), '\x04').at(-1)).toBe('cancel');
  });

  it('marks an over-long line instead of cutting it', () => {
    const line = new SecretLine();
    typeInto(line, 'a'.repeat(MAX_SECRET_BYTES + 1));
    expect(line.tooLong).toBe(true);
    line.wipe();
    expect(line.tooLong).toBe(false);
    expect(line.take()).toHaveLength(0);
  });
});
