/**
 * A Bloom filter over serials: "maybe" or "certainly not". It stands for the
 * serials of the expired certificates that start-up leaves on disk
 * (cold-lines.ts): a serial it may hold is never drawn for a new certificate,
 * so a false "maybe" costs one more draw and uniqueness never depends on
 * luck. Ten bits and seven probes a serial: about 1% false "maybe".
 * Hand-written: the npm filters hash strings (a serial here is bytes of
 * index.txt) and keep their bits in formats of their own.
 */
import { fnv1a } from './fnv1a.js';

const BITS_PER_SERIAL = 10;
const PROBES = 7;
const MIN_BITS = 1 << 16;

/** A second offset basis: h1 + i * h2 for the probes (double hashing) needs two independent hashes. */
const SECOND_BASIS = 0x050c5d1f;

function hashPair(bytes: Uint8Array, start: number, length: number): [number, number] {
  return [fnv1a(bytes, start, length), (fnv1a(bytes, start, length, SECOND_BASIS) | 1) >>> 0];
}

export class SerialFilter {
  private readonly mask: number;

  private constructor(
    /** The filter's bits, a power of two of them. */
    readonly bits: Uint8Array,
    /** Serials it is made for: beyond them its false "maybe" grow. */
    readonly capacity: number,
  ) {
    this.mask = bits.length * 8 - 1;
  }

  /** An empty filter for about `capacity` serials. */
  static sized(capacity: number): SerialFilter {
    let bits = MIN_BITS;
    while (bits < capacity * BITS_PER_SERIAL && bits < 2 ** 31) bits *= 2;
    return new SerialFilter(new Uint8Array(bits / 8), capacity);
  }

  /** A filter from bits written by `bits` (a power of two of bytes, at least the minimum); null when they cannot be one. */
  static fromBits(bits: Uint8Array, capacity: number): SerialFilter | null {
    const count = bits.length * 8;
    const powerOfTwo = count >= MIN_BITS && count <= 2 ** 31 && (count & (count - 1)) === 0;
    return powerOfTwo && Number.isInteger(capacity) && capacity > 0 ? new SerialFilter(bits, capacity) : null;
  }

  /** Adds the serial in bytes[start, end) (its index.txt spelling). */
  addBytes(bytes: Uint8Array, start: number, end: number): void {
    const [h1, h2] = hashPair(bytes, start, end - start);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + i * h2) & this.mask;
      this.bits[bit >>> 3]! |= 1 << (bit & 7);
    }
  }

  /** False when the serial was certainly never added. */
  mayHold(serial: string): boolean {
    const [h1, h2] = hashPair(Buffer.from(serial, 'latin1'), 0, serial.length);
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + i * h2) & this.mask;
      if ((this.bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }
}
