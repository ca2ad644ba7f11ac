/**
 * Publication in CRL_DIR: the numbered copy crl-<N>.pem (and .der) written
 * atomically, then the latest link crl.pem -> crl-<N>.pem replaced
 * atomically (a symlink under a temp name, renamed over the old one), so a
 * reader sees the old CRL or the new one, never a partial file. The numbered
 * copies are kept up to CRL_KEEP numbers: a CRL of 100,000 entries is
 * megabytes, and one is signed at every revocation.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirectory, writeFileAtomic } from '@etoken-ca/contract/io/atomic-file';
import { pemBytes } from '@etoken-ca/x509/pem';

export type CrlFormat = 'pem' | 'der';

export const latestCrlName = (format: CrlFormat): string => `crl.${format}`;
export const numberedCrlName = (number: number, format: CrlFormat): string => `crl-${number}.${format}`;

function replaceLink(dir: string, target: string, name: string): void {
  const temp = join(dir, `.${name}.new`);
  try {
    unlinkSync(temp);
  } catch {
    // none left over
  }
  symlinkSync(target, temp);
  renameSync(temp, join(dir, name));
}

/** Publishes a signed CRL; returns the path of its numbered copy in the first format. */
export function publishCrl(dir: string, number: number, der: Buffer, formats: readonly CrlFormat[]): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const format of formats) {
    writeFileAtomic(join(dir, numberedCrlName(number, format)), format === 'pem' ? pemBytes(der, 'X509 CRL') : der, { mode: 0o644 });
  }
  fsyncDirectory(dir);
  for (const format of formats) replaceLink(dir, numberedCrlName(number, format), latestCrlName(format));
  fsyncDirectory(dir);
  return join(dir, numberedCrlName(number, formats[0] ?? 'pem'));
}

const NUMBERED = /^crl-(\d+)\.(pem|der)$/;

/**
 * Removes the numbered copies of all but the `keep` highest CRL numbers; the
 * copy the latest links name is the highest, so it always stays. Returns the
 * numbers removed.
 */
export function pruneCrlCopies(dir: string, keep: number): number[] {
  const copies = readdirSync(dir).flatMap((name) => {
    const m = NUMBERED.exec(name);
    return m ? [{ name, number: Number(m[1]) }] : [];
  });
  const numbers = [...new Set(copies.map((c) => c.number))].sort((a, b) => b - a);
  const kept = new Set(numbers.slice(0, keep));
  for (const copy of copies) if (!kept.has(copy.number)) unlinkSync(join(dir, copy.name));
  return numbers.slice(keep);
}

/** Whether the latest link of every format points at an existing file. */
export function latestCrlPresent(dir: string, formats: readonly CrlFormat[]): boolean {
  return formats.every((format) => existsSync(join(dir, latestCrlName(format))));
}
