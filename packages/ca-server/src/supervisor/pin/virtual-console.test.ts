import { describe, expect, it } from 'vitest';
import { deviceNumbers, isVirtualConsole } from './virtual-console.js';

const dev = (major: number, minor: number): number => ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);

describe('isVirtualConsole', () => {
  it('splits device numbers as glibc does', () => {
    expect(deviceNumbers(dev(136, 3))).toEqual({ major: 136, minor: 3 });
    expect(deviceNumbers(dev(4, 300))).toEqual({ major: 4, minor: 300 });
  });

  it('accepts /dev/tty1 to /dev/tty63 only', () => {
    expect(isVirtualConsole(dev(4, 1))).toBe(true);
    expect(isVirtualConsole(dev(4, 8))).toBe(true);
    expect(isVirtualConsole(dev(4, 63))).toBe(true);
    expect(isVirtualConsole(dev(4, 0))).toBe(false); // /dev/tty0: whichever VT is in front
    expect(isVirtualConsole(dev(4, 64))).toBe(false); // /dev/ttyS0: a serial line
    expect(isVirtualConsole(dev(136, 1))).toBe(false); // a pty
    expect(isVirtualConsole(dev(5, 1))).toBe(false); // /dev/console
  });
});
