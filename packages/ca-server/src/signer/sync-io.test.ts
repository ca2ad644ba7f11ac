import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '@etoken-ca/protocol/frames';
import { SyncFrameReader } from './sync-io.js';

const dir = mkdtempSync(join(tmpdir(), 'etoken-sync-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readerOf(content: Buffer, maxLine = 1 << 20): { reader: SyncFrameReader; close: () => void } {
  const file = join(dir, `in-${Math.random()}`);
  writeFileSync(file, content);
  const fd = openSync(file, 'r');
  return { reader: new SyncFrameReader(fd, { maxLine, maxPayload: 1 << 20 }), close: () => closeSync(fd) };
}

describe('SyncFrameReader', () => {
  it('reads frames and the payloads that follow their lines, across read boundaries, as many as arrived', () => {
    const payload = Buffer.alloc(200_000, 0x0a);
    const long = 'x'.repeat(100_000);
    const bytes = Buffer.concat([...encodeFrame({ type: 'one' }), ...encodeFrame({ type: 'two' }, payload), ...encodeFrame({ type: long })]);
    const { reader, close } = readerOf(bytes);
    const first = reader.next(1)!;
    expect(first.map((f) => f.message.type)).toEqual(['one']);
    const rest = [...reader.next(16)!, ...(reader.next(16) ?? [])];
    expect(rest[0]!.payload!.equals(payload)).toBe(true);
    expect(rest.map((f) => f.message.type)).toEqual(['two', long]);
    expect(reader.next(16)).toBeNull();
    close();
  });

  it('refuses an over-long line and input that ends inside a frame', () => {
    const long = readerOf(Buffer.from(`{"type":"${'y'.repeat(70_000)}"}\n`), 1000);
    expect(() => long.reader.next(1)).toThrow(/longer than 1000/);
    long.close();
    const short = readerOf(Buffer.from('{"type":"t","bytes":10}\nabc'));
    expect(() => short.reader.next(1)).toThrow(/end of input inside a frame/);
    short.close();
  });
});
