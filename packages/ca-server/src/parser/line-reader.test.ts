import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { boundedLines, LineTooLongError } from './line-reader.js';

async function collect(chunks: string[], max: number): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of boundedLines(Readable.from(chunks.map((c) => Buffer.from(c))), max)) lines.push(line.toString());
  return lines;
}

describe('boundedLines', () => {
  it('splits lines across and within chunks', async () => {
    expect(await collect(['a', 'b\nc', 'd\n\ne\nf'], 10)).toEqual(['ab', 'cd', '', 'e', 'f']);
  });

  it('yields nothing for empty input', async () => {
    expect(await collect([], 10)).toEqual([]);
  });

  it('accepts a line of exactly the limit', async () => {
    expect(await collect(['12345', '\n'], 5)).toEqual(['12345']);
  });

  it('refuses a line over the limit, with or without its newline', async () => {
    await expect(collect(['123', '456\n'], 5)).rejects.toBeInstanceOf(LineTooLongError);
    await expect(collect(['123', '456'], 5)).rejects.toBeInstanceOf(LineTooLongError);
  });
});
