/**
 * The free-space reserve of CA_DIR's filesystem (CA_DISK_RESERVE_MB): below
 * it, new certificate requests are refused (exit 75, "CA disk full") so that
 * what is left serves revocations, CRLs and checkpoints; once space is back
 * (the reserve and a tenth more, so that it does not flap) requests are
 * taken again. Checked every second and after every write that found the
 * disk full.
 */
import { statfsSync } from 'node:fs';

/** Fewer free inodes than this is a full disk too: every certificate needs a newcerts/ file. */
const MIN_FREE_INODES = 64;
const HYSTERESIS = 1.1;

export interface DiskSpace {
  readonly freeBytes: number;
  readonly freeInodes: number;
}

/** Space and inodes available to root in the filesystem of `path`, or null when it cannot be read. */
export function diskSpace(path: string): DiskSpace | null {
  try {
    const s = statfsSync(path);
    return { freeBytes: s.bavail * s.bsize, freeInodes: s.ffree };
  } catch {
    return null;
  }
}

export interface ReserveChange {
  readonly low: boolean;
  readonly space: DiskSpace;
  readonly neededBytes: number;
}

export class DiskReserve {
  private isLow = false;

  constructor(
    private readonly path: string,
    /** The bytes to keep free now (the configured reserve, and room for one rewrite of index.txt). */
    private readonly needed: () => number,
    private readonly measure: (path: string) => DiskSpace | null = diskSpace,
  ) {}

  get low(): boolean {
    return this.isLow;
  }

  /** Measures; returns the change when the state flipped, else null. */
  check(): ReserveChange | null {
    const space = this.measure(this.path);
    const neededBytes = this.needed();
    if (!space || neededBytes <= 0) return this.set(false, space ?? { freeBytes: Number.NaN, freeInodes: Number.NaN }, neededBytes);
    const low = this.isLow
      ? space.freeBytes < neededBytes * HYSTERESIS || space.freeInodes < MIN_FREE_INODES * HYSTERESIS
      : space.freeBytes < neededBytes || space.freeInodes < MIN_FREE_INODES;
    return this.set(low, space, neededBytes);
  }

  /** A write found the disk full: low now, until a measure says otherwise. */
  markFull(): ReserveChange | null {
    if (this.isLow) return null;
    this.isLow = true;
    return { low: true, space: this.measure(this.path) ?? { freeBytes: 0, freeInodes: 0 }, neededBytes: this.needed() };
  }

  private set(low: boolean, space: DiskSpace, neededBytes: number): ReserveChange | null {
    if (low === this.isLow) return null;
    this.isLow = low;
    return { low, space, neededBytes };
  }
}
