import { describe, expect, it } from 'vitest';
import { randomSerial } from '../serial.js';
import { ColdLines } from './cold-lines.js';
import { decodeColdSummary, encodeColdSummary } from './cold-summary.js';
import { SerialFilter } from './serial-filter.js';

const add = (filter: SerialFilter, serial: string): void => filter.addBytes(Buffer.from(serial, 'latin1'), 0, serial.length);

describe('SerialFilter', () => {
  it('holds every serial added and few others', () => {
    const filter = SerialFilter.sized(20_000);
    const added = Array.from({ length: 20_000 }, () => randomSerial());
    for (const serial of added) add(filter, serial);
    expect(added.every((serial) => filter.mayHold(serial))).toBe(true);
    const others = Array.from({ length: 20_000 }, () => randomSerial()).filter((serial) => filter.mayHold(serial));
    expect(others.length).toBeLessThan(20_000 * 0.02);
  });

  it('takes back only bits that can be a filter', () => {
    expect(SerialFilter.fromBits(new Uint8Array(8192), 100)).not.toBeNull();
    expect(SerialFilter.fromBits(new Uint8Array(8191), 100)).toBeNull();
    expect(SerialFilter.fromBits(new Uint8Array(16), 100)).toBeNull();
    expect(SerialFilter.fromBits(new Uint8Array(8192), 0)).toBeNull();
  });
});

describe('ColdLines', () => {
  const line = Buffer.from('V\t200101000000Z\t\tAB12\tunknown\t/CN=x\n');
  const serialAt = [line.indexOf('AB12'), line.indexOf('AB12') + 4] as const;

  it('merges adjacent lines into one prefix, and needs a rewrite when they are scattered or one is excised', () => {
    const cold = ColdLines.forIndexOf(1000);
    expect(cold.prefixBytes).toBe(0);
    cold.add(line, ...serialAt, 0, 40);
    cold.add(line, ...serialAt, 40, 80);
    expect(cold.prefixBytes).toBe(80);
    expect(cold.needsRewrite).toBe(false);
    cold.add(line, ...serialAt, 120, 160);
    expect(cold.prefixBytes).toBeNull();
    expect(cold.needsRewrite).toBe(true);
    expect(cold.snapshot().ranges).toEqual([0, 80, 120, 160]);
    cold.rewritten([], 120, 0, 0);
    expect(cold.needsRewrite).toBe(false);
    cold.excise('AB12');
    expect(cold.isExcised('AB12')).toBe(true);
    expect(cold.needsRewrite).toBe(true);
    cold.rewritten(['AB12'], 80, 1, 0);
    expect(cold).toMatchObject({ lines: 2, prefixBytes: 80, needsRewrite: false });
  });

  it('says when its filter holds more serials than it was made for', () => {
    const cold = new ColdLines(SerialFilter.sized(2));
    cold.takePrefix(100, 2);
    expect(cold.overfull).toBe(false);
    cold.add(line, ...serialAt, 100, 140);
    expect(cold.overfull).toBe(true);
  });
});

describe('cold summary', () => {
  it('reads back what it wrote, and nothing that does not match its checkpoint or its checksum', () => {
    const filter = SerialFilter.sized(1000);
    add(filter, 'ABCD');
    const file = Buffer.concat(encodeColdSummary({ bytes: 4000, lines: 100, filter }));
    const read = decodeColdSummary(file, 4000, 100);
    expect(read?.filter.mayHold('ABCD')).toBe(true);
    expect(read?.filter.capacity).toBe(1000);
    expect(decodeColdSummary(file, 4001, 100)).toBeNull();
    expect(decodeColdSummary(file, 4000, 99)).toBeNull();
    const damaged = Buffer.from(file);
    damaged[damaged.length - 1]! ^= 1;
    expect(decodeColdSummary(damaged, 4000, 100)).toBeNull();
    expect(decodeColdSummary(file.subarray(0, file.length - 1), 4000, 100)).toBeNull();
    expect(decodeColdSummary(Buffer.from('not json\n'), 4000, 100)).toBeNull();
  });
});
