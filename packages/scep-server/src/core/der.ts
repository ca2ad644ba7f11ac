/**
 * Between bytes and library objects. Parsing insists that exactly one ASN.1
 * element fills the input (no trailing bytes); any parse failure, a stack
 * overflow on absurd nesting included, becomes a badRequest.
 */
import { AsnParser, AsnSerializer } from '@peculiar/asn1-schema';
import * as asn1js from 'asn1js';
import { ScepError } from './fail-info.js';

export function parseExactly<T>(bytes: Uint8Array | ArrayBuffer, type: new () => T, what: string): T {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  try {
    const decoded = asn1js.fromBER(view);
    if (decoded.offset !== view.byteLength) throw new Error('not exactly one element');
    return AsnParser.fromASN(decoded.result, type);
  } catch {
    throw new ScepError('badRequest', `${what} is not well-formed`);
  }
}

export function derOf(value: object): Buffer {
  return Buffer.from(AsnSerializer.serialize(value));
}

export function bufferOf(bytes: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(bytes) ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.from(bytes);
}

/** The library types hold plain ArrayBuffers; a Buffer may be a window on a larger one. */
export function arrayBufferOf(bytes: Buffer): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}
