/**
 * A Name in index.txt's spelling: OpenSSL's X509_NAME_oneline, which
 * `openssl ca` writes and the whole product uses for subjects (listings,
 * filters, per-subject counts, namespace patterns). Every entry is
 * `/SHORTNAME=value` in order, `+SHORTNAME=value` for the further values of
 * a multi-valued RDN (OpenSSL 3; 1.1 wrote `/` there too); the value is the
 * string's own content octets, each byte outside printable ASCII written as
 * \xHH; a GeneralString made of 4-byte units with three zero bytes keeps only
 * the fourth (OpenSSL's one special case). OpenSSL names an attribute by its
 * short name, or by its dotted OID when it has none.
 */
import { childrenOf, contentOf, decodeOid, readElement } from './der-reader.js';

/** OpenSSL's short names (OBJ_nid2sn) of the attribute types names carry. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.13': 'description',
  '2.5.4.15': 'businessCategory',
  '2.5.4.17': 'postalCode',
  '2.5.4.41': 'name',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.44': 'generationQualifier',
  '2.5.4.45': 'x500UniqueIdentifier',
  '2.5.4.46': 'dnQualifier',
  '2.5.4.65': 'pseudonym',
  '2.5.4.72': 'role',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '1.2.840.113549.1.9.2': 'unstructuredName',
  '1.3.6.1.4.1.311.60.2.1.1': 'jurisdictionL',
  '1.3.6.1.4.1.311.60.2.1.2': 'jurisdictionST',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionC',
};

const GENERAL_STRING = 0x1b;
const HEX = '0123456789ABCDEF';

function valueText(tag: number, bytes: Buffer): string {
  let keep = (_: number): boolean => true;
  if (tag === GENERAL_STRING && bytes.length % 4 === 0) {
    const nonZero = [false, false, false, false];
    bytes.forEach((b, i) => {
      if (b !== 0) nonZero[i & 3] = true;
    });
    if (!nonZero[0] && !nonZero[1] && !nonZero[2]) keep = (i) => (i & 3) === 3;
  }
  let out = '';
  bytes.forEach((b, i) => {
    if (!keep(i)) return;
    out += b < 0x20 || b > 0x7e ? `\\x${HEX[b >> 4]}${HEX[b & 15]}` : String.fromCharCode(b);
  });
  return out;
}

/** The DER of a Name (SEQUENCE OF RDN) in index.txt's spelling. */
export function onelineName(name: Buffer): string {
  let out = '';
  for (const rdn of childrenOf(name, readElement(name))) {
    childrenOf(name, rdn).forEach((atv, i) => {
      const [type, value] = childrenOf(name, atv);
      if (!type || !value) throw new Error('malformed name attribute');
      const oid = decodeOid(contentOf(name, type));
      out += `${i === 0 ? '/' : '+'}${SHORT_NAMES[oid] ?? oid}=${valueText(value.tag, contentOf(name, value))}`;
    });
  }
  return out;
}

/** A name folded the way relying parties compare names (OpenSSL's canonical form): case and runs of blanks ignored. */
function folded(name: Buffer): string {
  return onelineName(name)
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/ ?([/=]) ?/g, '$1');
}

/** Whether two names would be taken for the same name, whatever their string types. */
export function sameName(a: Buffer, b: Buffer): boolean {
  return folded(a) === folded(b);
}
