/** Digests by OID, under the names node:crypto knows them by. */
export type DigestName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const DIGEST_OIDS: Readonly<Record<string, DigestName>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export const SHA256_OID = '2.16.840.1.101.3.4.2.1';

export function digestByOid(oid: string): DigestName | undefined {
  return DIGEST_OIDS[oid];
}
