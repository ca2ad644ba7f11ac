/**
 * What must hold of a TBSCertList before the signer signs it: the supervisor
 * builds it (it holds the revoked entries), the signer only signs bytes that
 * are a v2 CRL of this CA. A TBSCertList starts with an INTEGER where a
 * TBSCertificate has its [0] version, so a CRL signature can never be passed
 * off as a certificate. Pure; throws CertificateRefused.
 */
import { contextPrimitive, sequence } from './der.js';
import { childrenOf, contentOf, decodeOid, decodeTime, readElement, type DerElement } from './der-reader.js';
import type { CrlTemplate } from './crl.js';
import { OID } from './oids.js';
import { CertificateRefused, refuse } from './refusal.js';

const TAG = { integer: 0x02, octetString: 0x04, oid: 0x06, sequence: 0x30, utcTime: 0x17, generalizedTime: 0x18, crlExtensions: 0xa0 } as const;

const isTime = (e: DerElement | undefined): e is DerElement => e?.tag === TAG.utcTime || e?.tag === TAG.generalizedTime;

/**
 * Each entry: SEQUENCE { INTEGER, Time, [SEQUENCE extensions] }; nothing is
 * re-encoded. Walked element by element, with no list per entry: a CRL has
 * up to 100,000 of them.
 */
function checkEntries(tbs: Buffer, list: DerElement): void {
  for (let at = list.contentStart; at < list.end; ) {
    const entry = readElement(tbs, at, list.end);
    if (entry.tag !== TAG.sequence) refuse('a revoked entry is not a SEQUENCE');
    const serial = entry.contentStart < entry.end ? readElement(tbs, entry.contentStart, entry.end) : undefined;
    const date = serial && serial.end < entry.end ? readElement(tbs, serial.end, entry.end) : undefined;
    const extensions = date && date.end < entry.end ? readElement(tbs, date.end, entry.end) : undefined;
    const end = extensions?.end ?? date?.end;
    if (serial?.tag !== TAG.integer || !isTime(date) || (extensions && extensions.tag !== TAG.sequence) || end !== entry.end) {
      refuse('a revoked entry is malformed');
    }
    at = entry.end;
  }
}

function checkExtensions(tbs: Buffer, element: DerElement, template: CrlTemplate): void {
  const [list, extra] = childrenOf(tbs, element);
  if (list?.tag !== TAG.sequence || extra) refuse('crlExtensions malformed');
  const seen = new Map<string, Buffer>();
  for (const ext of childrenOf(tbs, list)) {
    const [id, value, more] = ext.tag === TAG.sequence ? childrenOf(tbs, ext) : [];
    if (id?.tag !== TAG.oid || value?.tag !== TAG.octetString || more) refuse('a CRL extension is malformed or critical');
    const oid = decodeOid(contentOf(tbs, id!));
    if (seen.has(oid)) refuse(`CRL extension ${oid} twice`);
    seen.set(oid, contentOf(tbs, value!));
  }
  if (!seen.get(OID.authorityKeyIdentifier)?.equals(sequence(contextPrimitive(0, template.keyId)))) refuse('CRL authorityKeyIdentifier is not the CA key');
  const number = seen.get(OID.cRLNumber);
  if (!number || readElement(number).tag !== TAG.integer || readElement(number).end !== number.length) refuse('CRL has no CRL number');
  if (seen.size !== 2) refuse('CRL has an extension other than AKI and CRL number');
}

export function checkTbsCertList(tbs: Buffer, template: CrlTemplate): void {
  try {
    const outer = readElement(tbs);
    if (outer.tag !== TAG.sequence || outer.end !== tbs.length) refuse('TBSCertList is not one SEQUENCE');
    const fields = childrenOf(tbs, outer);
    const [version, algorithm, issuer, thisUpdate, nextUpdate] = fields;
    if (version?.tag !== TAG.integer || !contentOf(tbs, version).equals(Buffer.of(1))) refuse('CRL is not v2');
    if (!algorithm || !tbs.subarray(algorithm.start, algorithm.end).equals(template.algorithm.identifier)) refuse('CRL signature algorithm is not the CA\'s');
    if (!issuer || !tbs.subarray(issuer.start, issuer.end).equals(template.issuer)) refuse('CRL issuer is not the CA');
    if (!isTime(thisUpdate) || !isTime(nextUpdate)) refuse('CRL needs thisUpdate and nextUpdate');
    if (decodeTime(tbs, nextUpdate) <= decodeTime(tbs, thisUpdate)) refuse('CRL nextUpdate is not after thisUpdate');
    const rest = fields.slice(5);
    const revoked = rest[0]?.tag === TAG.sequence ? rest.shift() : undefined;
    if (revoked) checkEntries(tbs, revoked);
    const [extensions, extra] = rest;
    if (extensions?.tag !== TAG.crlExtensions || extra) refuse('CRL extensions missing or misplaced');
    checkExtensions(tbs, extensions, template);
  } catch (e) {
    if (e instanceof CertificateRefused) throw e;
    refuse(`CRL not signed: ${(e as Error).message}`);
  }
}
