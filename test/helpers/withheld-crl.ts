/**
 * What must follow a withheld certificate beyond index.txt (ca-invariants.ts
 * reads that): the next CRL the server publishes lists its serial, revoked
 * with cessationOfOperation, and no client ever printed it. The CRL is read
 * with `openssl crl -text`, as a relying party would.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import type { AuditRecord, RunningServer } from './ca-server.js';

/** Serial (as OpenSSL prints it: uppercase hex) -> reason as OpenSSL spells it in -text ('' when none). */
export function crlEntries(path: string, inform: 'PEM' | 'DER' = 'PEM'): Map<string, string> {
  const text = execFileSync('openssl', ['crl', '-inform', inform, '-in', path, '-noout', '-text'], { encoding: 'utf8' });
  const entries = new Map<string, string>();
  for (const block of text.split(/\n\s*Serial Number: /).slice(1)) {
    const serial = /^([0-9A-F]+)/.exec(block)?.[1];
    if (!serial) continue;
    const reason = /X509v3 CRL Reason Code:\s*\n\s*(.+)/.exec(block)?.[1]?.trim() ?? '';
    entries.set(serial, reason);
  }
  return entries;
}

/** The CRL number of a CRL file. */
export function crlNumber(path: string): number {
  const text = execFileSync('openssl', ['crl', '-in', path, '-noout', '-crlnumber'], { encoding: 'utf8' });
  const hex = /crlNumber=(?:0x)?([0-9A-Fa-f]+)/.exec(text)?.[1];
  if (!hex) throw new Error(`no CRL number in ${path}: ${text}`);
  return Number.parseInt(hex, 16);
}

/** Serials of every certificate in PEM text (a client's stdout), in the CA database's spelling. */
export function serialsIn(text: string): string[] {
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return pems.map((pem) => new X509Certificate(pem).serialNumber.toUpperCase().replace(/^(00)+(?=.)/, ''));
}

/**
 * Waits for the first CRL the server publishes after it withheld each of
 * `serials` (its cert.withheld record), and returns what is wrong: a serial
 * never withheld, missing from that CRL, listed with another reason, or
 * carried by a client's stdout. Empty: all holds.
 */
export async function withheldProblems(server: RunningServer, serials: Iterable<string>, clientStdouts: Iterable<string>, timeoutMs = 60_000): Promise<string[]> {
  const problems: string[] = [];
  const wanted = [...serials];
  const printed = new Set([...clientStdouts].flatMap(serialsIn));
  for (const serial of wanted) {
    if (printed.has(serial)) problems.push(`withheld serial ${serial} was printed by a client`);
    const withheldAt = server.logs.findIndex((r) => r.event === 'cert.withheld' && r.serial === serial);
    if (withheldAt < 0) {
      problems.push(`serial ${serial} has no cert.withheld record`);
      continue;
    }
    const after = (r: AuditRecord): boolean => server.logs.indexOf(r) > withheldAt;
    const [next] = await server.waitFor('crl.issued', 1, timeoutMs, after);
    const path = String(next!.path);
    const reason = crlEntries(path, path.endsWith('.der') ? 'DER' : 'PEM').get(serial);
    if (reason === undefined) problems.push(`withheld serial ${serial} is not in CRL ${String(next!.number)}, the next one published (${path})`);
    else if (reason !== 'Cessation Of Operation') problems.push(`withheld serial ${serial} is in CRL ${String(next!.number)} with reason "${reason}", not Cessation Of Operation`);
  }
  return problems;
}
