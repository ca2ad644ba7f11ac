/**
 * Single values of CMS attributes, read strictly: one attribute of a type,
 * one value in it, of the ASN.1 type RFC 8894 and RFC 5652 name.
 */
import type { Attribute } from '@peculiar/asn1-cms';
import * as asn1js from 'asn1js';
import { bufferOf } from './der.js';
import { ScepError } from './fail-info.js';

/** PrintableString's alphabet (X.680 §41.4). */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export class AttributeSet {
  private readonly byType = new Map<string, ArrayBuffer>();

  constructor(attributes: readonly Attribute[]) {
    for (const attribute of attributes) {
      if (this.byType.has(attribute.attrType)) throw new ScepError('badRequest', `attribute ${attribute.attrType} appears twice`);
      const [value, ...more] = attribute.attrValues;
      if (value === undefined || more.length > 0) throw new ScepError('badRequest', `attribute ${attribute.attrType} must have exactly one value`);
      this.byType.set(attribute.attrType, value);
    }
  }

  printableString(type: string, name: string, maxLength: number): string | undefined {
    const block = this.block(type, name);
    if (block === undefined) return undefined;
    if (!(block instanceof asn1js.PrintableString)) throw new ScepError('badRequest', `${name} is not a PrintableString`);
    const text = block.valueBlock.value;
    if (text.length === 0 || text.length > maxLength || !PRINTABLE.test(text)) throw new ScepError('badRequest', `${name} is empty, too long or not printable`);
    return text;
  }

  octetString(type: string, name: string): Buffer | undefined {
    const block = this.block(type, name);
    if (block === undefined) return undefined;
    if (!(block instanceof asn1js.OctetString) || block.valueBlock.isConstructed) throw new ScepError('badRequest', `${name} is not an OCTET STRING`);
    return bufferOf(block.valueBlock.valueHexView);
  }

  objectIdentifier(type: string, name: string): string | undefined {
    const block = this.block(type, name);
    if (block === undefined) return undefined;
    if (!(block instanceof asn1js.ObjectIdentifier)) throw new ScepError('badRequest', `${name} is not an OBJECT IDENTIFIER`);
    return block.valueBlock.toString();
  }

  time(type: string, name: string): Date | undefined {
    const block = this.block(type, name);
    if (block === undefined) return undefined;
    if (!(block instanceof asn1js.UTCTime || block instanceof asn1js.GeneralizedTime)) throw new ScepError('badRequest', `${name} is not a time`);
    const date = block.toDate();
    if (Number.isNaN(date.getTime())) throw new ScepError('badRequest', `${name} is not a valid time`);
    return date;
  }

  private block(type: string, name: string): asn1js.AsnType | undefined {
    const value = this.byType.get(type);
    if (value === undefined) return undefined;
    const decoded = asn1js.fromBER(value);
    if (decoded.offset !== value.byteLength) throw new ScepError('badRequest', `${name} is not well-formed`);
    return decoded.result;
  }
}

export function printableStringValue(text: string): ArrayBuffer {
  return new asn1js.PrintableString({ value: text }).toBER();
}

export function octetStringValue(bytes: Buffer): ArrayBuffer {
  return new asn1js.OctetString({ valueHex: bytes }).toBER();
}

export function objectIdentifierValue(oid: string): ArrayBuffer {
  return new asn1js.ObjectIdentifier({ value: oid }).toBER();
}
