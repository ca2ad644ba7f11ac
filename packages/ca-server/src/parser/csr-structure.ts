/**
 * The shape of a PKCS#10 CertificationRequest (RFC 2986), read off the DER
 * without building an object tree: the signed request info, its version,
 * the SubjectPublicKeyInfo, the signature algorithm and the signature.
 * Subject and attributes are only checked to have their shape; nothing in
 * them is used. Throws on anything that is not that shape.
 */
import { childrenOf, contentOf, decodeOid, readElement, type DerElement } from '@etoken-ca/x509/der-reader';

const TAG = { integer: 0x02, bitString: 0x03, null: 0x05, oid: 0x06, sequence: 0x30, set: 0x31, attributes: 0xa0 } as const;

export interface CsrStructure {
  /** Where the request sits in the input: anything after it is trailing data. */
  readonly end: number;
  /** CertificationRequestInfo, as signed. */
  readonly info: Buffer;
  /** The version INTEGER's content octets. */
  readonly version: Buffer;
  readonly spki: Buffer;
  readonly algorithm: string;
  readonly parameters: 'absent' | 'null' | 'other';
  readonly signature: Buffer;
}

function expect(element: DerElement | undefined, tag: number): DerElement {
  if (element?.tag !== tag) throw new Error('unexpected element');
  return element;
}

/** SEQUENCE { OBJECT IDENTIFIER, <tag> } for each child: a Name's AttributeTypeAndValue (in SETs) or an Attribute. */
function checkTypedValues(der: Buffer, items: readonly DerElement[], valueTag: number | null): void {
  for (const item of items) {
    const [type, value, extra] = childrenOf(der, expect(item, TAG.sequence));
    expect(type, TAG.oid);
    if (!value || extra || (valueTag !== null && value.tag !== valueTag)) throw new Error('malformed attribute');
  }
}

export function readCsrStructure(der: Buffer): CsrStructure {
  const root = expect(readElement(der), TAG.sequence);
  const [info, algorithm, signature, extra] = childrenOf(der, root);
  if (extra) throw new Error('fields after the signature');
  const [version, subject, spki, attributes, more] = childrenOf(der, expect(info, TAG.sequence));
  if (more) throw new Error('fields after the attributes');
  expect(version, TAG.integer);
  for (const rdn of childrenOf(der, expect(subject, TAG.sequence))) checkTypedValues(der, childrenOf(der, expect(rdn, TAG.set)), null);
  expect(spki, TAG.sequence);
  checkTypedValues(der, childrenOf(der, expect(attributes, TAG.attributes)), TAG.set);
  const [oid, parameters, surplus] = childrenOf(der, expect(algorithm, TAG.sequence));
  if (surplus) throw new Error('malformed signature algorithm');
  const bits = contentOf(der, expect(signature, TAG.bitString));
  if (bits[0] !== 0) throw new Error('signature is not whole octets');
  return {
    end: root.end,
    info: der.subarray(info!.start, info!.end),
    version: contentOf(der, version!),
    spki: der.subarray(spki!.start, spki!.end),
    algorithm: decodeOid(contentOf(der, expect(oid, TAG.oid))),
    parameters: parameters === undefined ? 'absent' : parameters.tag === TAG.null && parameters.end === parameters.contentStart ? 'null' : 'other',
    signature: bits.subarray(1),
  };
}
