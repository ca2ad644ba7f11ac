/**
 * What the operator named on the command line, checked against the CA
 * database before anything is queued: a serial (any case, 0x, colons) or a
 * certificate file (PEM or DER) issued by this CA. Every problem is
 * collected, so one run reports them all.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { CertEntry } from '@etoken-ca/contract/core/cadb/database';
import { normalizeSerial, type SerialHex } from '@etoken-ca/contract/core/serial';

export interface Target {
  readonly given: string;
  readonly serial: SerialHex;
  readonly subject: string;
}

/** The CA database's rows of these serials (see contract io/cadb/find.ts); a serial it lacks is absent. */
export type FindCertificates = (serials: readonly SerialHex[]) => ReadonlyMap<SerialHex, CertEntry>;

export interface TargetCheck {
  readonly targets: readonly Target[];
  readonly problems: readonly string[];
}

type Resolved = { readonly serial: SerialHex } | { readonly problem: string };

/** The serial of a certificate file, if it is one and this CA issued it. */
function serialFromFile(path: string, ca: X509Certificate): Resolved {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(path));
  } catch (e) {
    return { problem: `${path}: not a certificate (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return { problem: `${path}: not issued by this CA (${cert.issuer.replace(/\n/g, ', ')})` };
  const serial = normalizeSerial(cert.serialNumber);
  return serial ? { serial } : { problem: `${path}: serial 0 cannot be in the database` };
}

function resolve(arg: string, ca: X509Certificate): Resolved {
  if (looksLikeFile(arg)) return serialFromFile(arg, ca);
  const serial = normalizeSerial(arg);
  return serial ? { serial } : { problem: `${arg}: not a serial number (hex) or a certificate file` };
}

const looksLikeFile = (given: string): boolean => given.includes('/') || /\.(pem|crt|cer|der)$/i.test(given) || existsSync(given);

export function checkTargets(given: readonly string[], ca: X509Certificate, find: FindCertificates): TargetCheck {
  const resolved = given.map((arg) => ({ arg, ...resolve(arg, ca) }));
  const found = find(resolved.flatMap((r) => ('serial' in r ? [r.serial] : [])));
  const targets: Target[] = [];
  const problems: string[] = [];
  const seen = new Set<SerialHex>();
  for (const r of resolved) {
    if ('problem' in r) {
      problems.push(r.problem);
      continue;
    }
    const { arg, serial } = r;
    const entry = found.get(serial);
    if (!entry) problems.push(`${arg}: serial ${serial} is not in the CA database`);
    else if (entry.status === 'R') problems.push(`${arg}: ${serial} is already revoked${entry.withheld ? ' (withheld)' : ''}`);
    else if (seen.has(serial)) problems.push(`${arg}: ${serial} given twice`);
    else {
      seen.add(serial);
      targets.push({ given: arg, serial, subject: entry.subject });
    }
  }
  return { targets, problems };
}
