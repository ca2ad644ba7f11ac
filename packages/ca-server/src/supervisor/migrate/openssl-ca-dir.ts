/**
 * An `openssl ca` directory as the importer sees it: index.txt (required),
 * serial and crlnumber (the next numbers, when present) and the issued
 * certificates in newcerts/<SERIAL>.pem. A certificate in newcerts/ that
 * index.txt does not list was signed all the same: it is kept too, so its
 * serial is never used again.
 */
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IndexEntry } from '@etoken-ca/contract/core/cadb/index-line';
import { badRequest } from '@etoken-ca/contract/core/exit-codes';
import { normalizeSerial } from '@etoken-ca/contract/core/serial';
import { databaseSubjectOf } from '@etoken-ca/x509/certificate-fields';
import { parseHexCounter, parseOpensslIndex } from './openssl-index.js';

export interface ImportedCert {
  readonly entry: IndexEntry;
  /** The certificate's DER, when newcerts/ has it. */
  readonly der?: Buffer;
  /** Listed only in newcerts/, not in index.txt. */
  readonly unlisted: boolean;
}

export interface OpensslCaDir {
  readonly dir: string;
  readonly certs: readonly ImportedCert[];
  /** The next serial openssl ca would have used, if the file exists. */
  readonly nextSerial: bigint | null;
  /** The next CRL number, if the file exists. */
  readonly nextCrlNumber: bigint | null;
}

function readOptional(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw badRequest(`${path}: cannot read it: ${(e as NodeJS.ErrnoException).code}`);
  }
}

function newcerts(dir: string): Map<string, { file: string; cert: X509Certificate }> {
  const found = new Map<string, { file: string; cert: X509Certificate }>();
  let names: string[];
  try {
    names = readdirSync(join(dir, 'newcerts'));
  } catch {
    return found;
  }
  for (const name of names.filter((n) => n.endsWith('.pem'))) {
    const file = join(dir, 'newcerts', name);
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(readFileSync(file));
    } catch (e) {
      throw badRequest(`${file}: not a certificate: ${(e as Error).message}`);
    }
    const serial = normalizeSerial(cert.serialNumber);
    if (!serial || normalizeSerial(name.slice(0, -4)) !== serial) throw badRequest(`${file}: holds serial ${cert.serialNumber}, not the one its name says`);
    found.set(serial, { file, cert });
  }
  return found;
}

export function readOpensslCaDir(dir: string): OpensslCaDir {
  const indexFile = join(dir, 'index.txt');
  const indexText = readOptional(indexFile);
  if (indexText === null) throw badRequest(`${dir}: no index.txt: not an openssl ca directory`);
  const issued = newcerts(dir);
  const certs: ImportedCert[] = parseOpensslIndex(indexText, indexFile).map((entry) => {
    const der = issued.get(entry.serial)?.cert.raw;
    issued.delete(entry.serial);
    return { entry, der, unlisted: false };
  });
  for (const [serial, { cert }] of issued) {
    const entry: IndexEntry = { serial, status: 'V', notAfter: new Date(cert.validTo).getTime(), subject: databaseSubjectOf(cert.raw) };
    certs.push({ entry, der: cert.raw, unlisted: true });
  }
  const counter = (name: string): bigint | null => {
    const text = readOptional(join(dir, name));
    return text === null ? null : parseHexCounter(text, join(dir, name));
  };
  return { dir, certs, nextSerial: counter('serial'), nextCrlNumber: counter('crlnumber') };
}
