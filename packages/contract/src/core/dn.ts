/**
 * Distinguished names in the slash form MyProxy and `openssl ca` use
 * (`/DC=org/O=Example/CN=John Doe`), parsed strictly into single-valued RDNs.
 * The username is hostile input: only known attribute types, one value per
 * RDN, no `/`, `+` or `\` inside a value, no control characters, values within
 * the RFC 5280 upper bounds.
 */
import { badRequest, EtokenError, ExitCode } from './exit-codes.js';

export type StringKind = 'printable' | 'utf8' | 'ia5';

export interface AttributeType {
  readonly name: string;
  readonly oid: string;
  /** Upper bound in characters (RFC 5280 Appendix A, RFC 4519 for DC/UID). */
  readonly maxLength: number;
  /** PrintableString-only types (C, serialNumber), IA5 types (DC, emailAddress), else DirectoryString. */
  readonly kind: StringKind;
}

const TYPES: readonly AttributeType[] = [
  { name: 'C', oid: '2.5.4.6', maxLength: 2, kind: 'printable' },
  { name: 'ST', oid: '2.5.4.8', maxLength: 128, kind: 'utf8' },
  { name: 'L', oid: '2.5.4.7', maxLength: 128, kind: 'utf8' },
  { name: 'O', oid: '2.5.4.10', maxLength: 64, kind: 'utf8' },
  { name: 'OU', oid: '2.5.4.11', maxLength: 64, kind: 'utf8' },
  { name: 'CN', oid: '2.5.4.3', maxLength: 64, kind: 'utf8' },
  { name: 'DC', oid: '0.9.2342.19200300.100.1.25', maxLength: 63, kind: 'ia5' },
  { name: 'UID', oid: '0.9.2342.19200300.100.1.1', maxLength: 256, kind: 'utf8' },
  { name: 'serialNumber', oid: '2.5.4.5', maxLength: 64, kind: 'printable' },
  { name: 'emailAddress', oid: '1.2.840.113549.1.9.1', maxLength: 255, kind: 'ia5' },
];

const BY_NAME = new Map(TYPES.map((t) => [t.name.toLowerCase(), t]));
const BY_OID = new Map(TYPES.map((t) => [t.oid, t]));

export const KNOWN_ATTRIBUTE_NAMES: readonly string[] = TYPES.map((t) => t.name);

export function attributeByName(name: string): AttributeType | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export function attributeByOid(oid: string): AttributeType | undefined {
  return BY_OID.get(oid);
}

/** One single-valued RDN. `type` is the canonical short name. */
export interface Rdn {
  readonly type: string;
  readonly value: string;
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
// C0, DEL, C1 controls, the Unicode line/paragraph separators, and format
// characters (bidi overrides, zero-width marks) that make a name display as
// another one.
const CONTROL = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

/** True when the text holds a character no name or username attribute may carry. */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Checks one value against its type; `allowSlash` is for text inserted into a value, never re-parsed. */
export function checkValue(type: AttributeType, value: string, allowSlash = false): void {
  const where = `${type.name} value`;
  if (value.length === 0) throw badRequest(`empty ${where}`);
  if ([...value].length > type.maxLength) throw badRequest(`${where} longer than ${type.maxLength} characters`);
  if (CONTROL.test(value)) throw badRequest(`control character in ${where}`);
  if (LONE_SURROGATE.test(value)) throw badRequest(`invalid UTF-8 in ${where}`);
  if (value !== value.trim()) throw badRequest(`leading or trailing space in ${where}`);
  if (!allowSlash && /[/+\\]/.test(value)) throw badRequest(`'/', '+' or '\\' inside ${where}`);
  if (type.kind === 'printable' && !PRINTABLE.test(value)) throw badRequest(`${where} is not a PrintableString`);
  if (type.kind === 'ia5' && /[^\x20-\x7e]/.test(value)) throw badRequest(`${where} is not ASCII`);
  if (type.name === 'C' && !/^[A-Z]{2}$/.test(value)) throw badRequest('C value is not a two-letter country code');
}

const MAX_RDNS = 16;

/** Parses `/T=v/T=v...` strictly. Throws a one-line reason (exit 65) on anything else. */
export function parseSlashDn(text: string): Rdn[] {
  if (!text.startsWith('/')) throw badRequest('DN does not start with /');
  const parts = text.slice(1).split('/');
  // Counted first: a hostile DN of thousands of RDNs is refused before any is checked.
  if (parts.length > MAX_RDNS) throw badRequest(`DN has more than ${MAX_RDNS} RDNs`);
  const rdns: Rdn[] = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw badRequest(`malformed RDN "${printable(part)}"`);
    const type = attributeByName(part.slice(0, eq));
    if (!type) throw badRequest(`attribute type "${printable(part.slice(0, eq))}" not allowed`);
    const value = part.slice(eq + 1);
    checkValue(type, value);
    rdns.push({ type: type.name, value });
  }
  return rdns;
}

/**
 * The DN as `openssl ca` writes it in index.txt (X509_NAME_oneline): bytes
 * outside printable ASCII as \xHH.
 */
export function onelineDn(rdns: readonly Rdn[]): string {
  let out = '';
  for (const { type, value } of rdns) out += `/${type}=${onelineText(value)}`;
  return out;
}

/** Text in that spelling: each UTF-8 byte outside printable ASCII as \xHH. */
export function onelineText(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte < 0x20 || byte > 0x7e ? `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

/** For error messages about hostile input: short and with control characters made visible. */
export function printable(text: string, max = 60): string {
  const shown = JSON.stringify(text.length > max ? `${text.slice(0, max)}...` : text);
  // JSON leaves these two unescaped, and they end a line in many viewers.
  return shown.slice(1, -1).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * DN_FORMAT compiled once at start-up. Where `%s` stands for whole RDNs, the
 * username's DN is parsed strictly and spliced in; where it sits inside a
 * value, the DN text is inserted as plain text into that one value.
 */
export interface DnFormat {
  readonly source: string;
  readonly mode: 'rdns' | 'value';
  readonly before: readonly Rdn[];
  readonly after: readonly Rdn[];
  /** In value mode: the RDN whose value receives the text, with the text around `%s`. */
  readonly slot?: { readonly type: string; readonly prefix: string; readonly suffix: string };
}

export function compileDnFormat(format: string): DnFormat {
  const fail = (why: string): never => {
    throw new EtokenError(ExitCode.config, `DN_FORMAT ${why}`);
  };
  const pieces = format.split('%s');
  if (pieces.length !== 2) fail('must contain %s exactly once');
  const unescape = (s: string): string => {
    if (/%(?!%)/.test(s.replace(/%%/g, ''))) fail('may contain no % directive but %s and %%');
    return s.replace(/%%/g, '%');
  };
  const head = unescape(pieces[0] ?? '');
  const tail = unescape(pieces[1] ?? '');
  const asRdns = (s: string): Rdn[] => {
    if (s === '') return [];
    try {
      return parseSlashDn(s);
    } catch (e) {
      return fail(`"${format}": ${(e as Error).message}`);
    }
  };
  const atBoundary = !head.endsWith('=') && (tail === '' || tail.startsWith('/'));
  if (atBoundary && (head === '' || head.startsWith('/'))) {
    return Object.freeze({ source: format, mode: 'rdns', before: asRdns(head), after: asRdns(tail) });
  }
  // %s inside one value: split the RDN that contains it.
  const headCut = head.lastIndexOf('/');
  const tailCut = tail.indexOf('/');
  const open = head.slice(headCut + 1);
  const eq = open.indexOf('=');
  if (headCut < 0 || eq <= 0) fail('must place %s at an RDN boundary or inside one value, e.g. /O=Grid/CN=%s');
  const type = attributeByName(open.slice(0, eq));
  if (!type) fail(`attribute type "${open.slice(0, eq)}" not allowed`);
  const suffix = tailCut < 0 ? tail : tail.slice(0, tailCut);
  return Object.freeze({
    source: format,
    mode: 'value',
    before: asRdns(head.slice(0, headCut)),
    after: asRdns(tailCut < 0 ? '' : tail.slice(tailCut)),
    slot: Object.freeze({ type: type!.name, prefix: open.slice(eq + 1), suffix }),
  });
}

/** The subject for a username's DN part, following the compiled DN_FORMAT. */
export function composeSubject(format: DnFormat, userDn: string): Rdn[] {
  if (format.mode === 'rdns') return [...format.before, ...parseSlashDn(userDn), ...format.after];
  const slot = format.slot!;
  const value = slot.prefix + userDn + slot.suffix;
  checkValue(attributeByName(slot.type)!, value, true);
  return [...format.before, { type: slot.type, value }, ...format.after];
}
