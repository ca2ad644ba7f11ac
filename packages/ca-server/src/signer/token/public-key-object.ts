/** Rebuilds a Node KeyObject from the attributes of a PKCS#11 public key object, to compare it with the CA certificate's key. */
import { createPublicKey, type KeyObject } from 'node:crypto';

export type PublicKeyAttributes =
  | { readonly kind: 'rsa'; readonly modulus: Buffer; readonly publicExponent: Buffer }
  | { readonly kind: 'ec'; readonly params: Buffer; readonly point: Buffer };

/** CKA_EC_PARAMS (the DER OID of a named curve) -> JWK curve and the length of an uncompressed point. */
const CURVES: Readonly<Record<string, { readonly crv: string; readonly pointLength: number }>> = {
  '06082a8648ce3d030107': { crv: 'P-256', pointLength: 65 },
  '06052b81040022': { crv: 'P-384', pointLength: 97 },
};

const b64url = (bytes: Buffer): string => bytes.toString('base64url');

function stripZeros(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

/** CKA_EC_POINT: an uncompressed point, DER-wrapped in an OCTET STRING by most modules (SoftHSM, eToken), raw by a few. */
function uncompressedPoint(point: Buffer, pointLength: number): Buffer | null {
  if (point.length === pointLength) return point;
  const header = pointLength < 0x80 ? Buffer.of(0x04, pointLength) : Buffer.of(0x04, 0x81, pointLength);
  const wrapped = point.length === header.length + pointLength && point.subarray(0, header.length).equals(header);
  return wrapped ? point.subarray(header.length) : null;
}

/** Null when the attributes do not describe a key Node can build (unknown curve, compressed point, garbage). */
export function publicKeyFromAttributes(attributes: PublicKeyAttributes): KeyObject | null {
  try {
    if (attributes.kind === 'rsa') {
      return createPublicKey({
        key: { kty: 'RSA', n: b64url(stripZeros(attributes.modulus)), e: b64url(stripZeros(attributes.publicExponent)) },
        format: 'jwk',
      });
    }
    const curve = CURVES[attributes.params.toString('hex')];
    const point = curve && uncompressedPoint(attributes.point, curve.pointLength);
    if (!curve || !point || point[0] !== 0x04) return null;
    const half = (point.length - 1) / 2;
    return createPublicKey({
      key: { kty: 'EC', crv: curve.crv, x: b64url(point.subarray(1, 1 + half)), y: b64url(point.subarray(1 + half)) },
      format: 'jwk',
    });
  } catch {
    return null;
  }
}
