/** FNV-1a (32 bits) over bytes: the hash of the serial table and, with a second offset basis, the serial filter. */
const FNV1A_OFFSET_BASIS = 0x811c9dc5;

export function fnv1a(bytes: Uint8Array, start: number, length: number, basis = FNV1A_OFFSET_BASIS): number {
  let h = basis;
  for (let i = start; i < start + length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}
