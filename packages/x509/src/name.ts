/** Encodes a subject from single-valued RDNs, with the string type RFC 5280 asks for each attribute. */
import { attributeByName, printable, type AttributeType, type Rdn } from '@etoken-ca/contract/core/dn';
import { ia5String, oid, printableString, sequence, setOf, utf8String } from './der.js';
import { refuse } from './refusal.js';

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function encodeValue(type: AttributeType, value: string): Buffer {
  if (type.kind === 'ia5') return ia5String(value);
  if (type.kind === 'printable') return printableString(value);
  return PRINTABLE.test(value) ? printableString(value) : utf8String(value);
}

/** Refuses an attribute type outside the contract's list; values are checked by the invariants. */
export function encodeName(rdns: readonly Rdn[]): Buffer {
  return sequence(
    ...rdns.map(({ type, value }) => {
      const attribute = attributeByName(type);
      if (!attribute) return refuse(`attribute type "${printable(type)}" not allowed`);
      return setOf(sequence(oid(attribute.oid), encodeValue(attribute, value)));
    }),
  );
}
