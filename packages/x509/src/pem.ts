/**
 * PEM (RFC 7468) written straight into one Buffer: base64 in lines of 64
 * characters. A large CRL's PEM is megabytes: no base64 string, no line
 * strings, no join, so no garbage to collect (README, Performance).
 */
const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
const PAD = 0x3d;
const NEWLINE = 0x0a;

export function pemBytes(der: Buffer, label: string): Buffer {
  const head = Buffer.from(`-----BEGIN ${label}-----\n`, 'latin1');
  const foot = Buffer.from(`-----END ${label}-----\n`, 'latin1');
  const chars = Math.ceil(der.length / 3) * 4;
  const out = Buffer.allocUnsafe(head.length + chars + Math.ceil(chars / 64) + foot.length);
  let at = head.copy(out, 0);
  const whole = der.length - (der.length % 3);
  let column = 0;
  for (let i = 0; i < whole; i += 3) {
    const n = (der[i]! << 16) | (der[i + 1]! << 8) | der[i + 2]!;
    out[at++] = ALPHABET[n >>> 18]!;
    out[at++] = ALPHABET[(n >>> 12) & 63]!;
    out[at++] = ALPHABET[(n >>> 6) & 63]!;
    out[at++] = ALPHABET[n & 63]!;
    if ((column += 4) === 64) {
      out[at++] = NEWLINE;
      column = 0;
    }
  }
  const rest = der.length - whole;
  if (rest > 0) {
    const n = (der[whole]! << 16) | (rest === 2 ? der[whole + 1]! << 8 : 0);
    out[at++] = ALPHABET[n >>> 18]!;
    out[at++] = ALPHABET[(n >>> 12) & 63]!;
    out[at++] = rest === 2 ? ALPHABET[(n >>> 6) & 63]! : PAD;
    out[at++] = PAD;
    column += 4;
  }
  if (column > 0) out[at++] = NEWLINE;
  foot.copy(out, at);
  return out;
}

/**
 * The DER of the first `label` block of a PEM file, or the input itself when
 * it is DER already (a SEQUENCE). Throws when it is neither.
 */
export function derOf(input: Buffer, label: string): Buffer {
  if (input[0] === 0x30) return input;
  const text = input.toString('latin1');
  const begin = `-----BEGIN ${label}-----`;
  const start = text.indexOf(begin);
  const end = text.indexOf(`-----END ${label}-----`, start);
  if (start < 0 || end < 0) throw new Error(`no ${label} in PEM or DER form`);
  const body = text.slice(start + begin.length, end).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw new Error(`the ${label} block is not base64`);
  return Buffer.from(body, 'base64');
}
