import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SyncRequestReader } from './sync-io.js';

const dir = mkdtempSync(join(tmpdir(), 'etoken-sync-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readerOf(content: Buffer, maxLine = 1 << 20): { reader: SyncRequestReader; close: () => void } {
  const file = join(dir, `in-${Math.random()}`);
  writeFileSync(file, content);
  const fd = openSync(file, 'r');
  return { reader: new SyncRequestReader(fd, maxLine), close: () => closeSync(fd) };
}

describe('SyncRequestReader', () => {
  it('reads lines and the payloads that follow them, across chunk boundaries', () => {
    const payload = Buffer.alloc(200_000, 0x0a);
    const long = 'x'.repeat(100_000);
    const { reader, close } = readerOf(Buffer.concat([Buffer.from('one\n{"bytes":200000}\n'), payload, Buffer.from(`${long}\nlast`)]));
    expect(reader.line()).toBe('one');
    expect(reader.line()).toBe('{"bytes":200000}');
    expect(reader.bytes(payload.length).equals(payload)).toBe(true);
    expect(reader.line()).toBe(long);
    expect(reader.line()).toBeNull();
    close();
  });

  it('refuses an over-long line and a payload cut short', () => {
    const long = readerOf(Buffer.from(`${'y'.repeat(70_000)}\n`), 1000);
    expect(() => long.reader.line()).toThrow(/longer than 1000/);
    long.close();
    const short = readerOf(Buffer.from('head\nabc'));
    expect(short.reader.line()).toBe('head');
    expect(() => short.reader.bytes(10)).toThrow(/end of input/);
    short.close();
  });

  it('tells whether a whole line is buffered without reading for it', () => {
    const { reader, close } = readerOf(Buffer.from('a\nb\nunfinished'));
    expect(reader.hasLine()).toBe(false);
    expect(reader.line()).toBe('a');
    expect(reader.hasLine()).toBe(true);
    expect(reader.line()).toBe('b');
    expect(reader.hasLine()).toBe(false);
    expect(reader.line()).toBeNull();
    close();
  });
});
