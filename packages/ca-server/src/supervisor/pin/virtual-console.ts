/**
 * Is a character device a Linux virtual console (/dev/tty1 .. /dev/tty63)?
 * Decided from the device number, not the name: major 4, minors 1 to 63.
 * Minor 0 (/dev/tty0, "whichever VT is in front") and 64 and up (serial
 * lines, which a remote console can reach) are not.
 */
const TTY_MAJOR = 4;
const MAX_VT_MINOR = 63;

/** Linux's dev_t split (glibc gnu_dev_major/minor), on a number as fs.Stats gives it. */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev >>> 0;
  const major = ((low >>> 8) & 0xfff) | ((high & 0xfffff000) >>> 0);
  const minor = (low & 0xff) | ((low >>> 12) & 0xfff00);
  return { major, minor };
}

export function isVirtualConsole(rdev: number): boolean {
  const { major, minor } = deviceNumbers(rdev);
  return major === TTY_MAJOR && minor >= 1 && minor <= MAX_VT_MINOR;
}
