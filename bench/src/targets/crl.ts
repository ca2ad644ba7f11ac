/**
 * P4: a CRL over `revoked` revoked entries built, signed on the token and
 * published, the way the server does it on the CRL path: the entries'
 * encodings kept from the previous CRL (revoked entries never change).
 * The server encodes every revoked entry at start-up (RevocationService.encodeRevoked); that start-up work and
 * the first CRL after it are reported beside the median. The CRL directory is a running CA's: CRL_KEEP earlier
 * CRLs published in it (untimed) before any figure, and after each new one the oldest copy removed, as the server
 * does. Without that, every CRL went into memory the machine had not used for a while, which on this virtual
 * machine cost its write about 15 ms more than the server's.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '@etoken-ca/contract/core/config';
import { loadCaDatabase } from '@etoken-ca/contract/io/cadb/load';
import type { TestToken } from '../../../test/helpers/softhsm.js';
import { seedCaDir } from '../db/seed-ca-dir.js';
import { median, nowMs, timeRuns } from '../stats.js';
import { assembleSigned, buildTbsCertList, createCrlTemplate, openPkcs11Token, parseCaCertificate, publishCrl, pruneCrlCopies, RevokedEntryCache } from './crl-builder.js';

export interface CrlTiming {
  /** Median ms with the entries' encodings kept. */
  readonly warmMs: number;
  /** ms the server spends at start-up encoding every revoked entry. */
  readonly encodeAtStartMs: number;
  /** ms of the first CRL after start-up. */
  readonly firstAfterStartMs: number;
}

const WEEK_MS = 7 * 86400_000;
/** The default CRL_KEEP, from the configuration's own schema. */
const { crlKeep } = parseConfig('DN_FORMAT=/DC=org/DC=example%s\n', 'defaults');

export function crlTiming(dir: string, token: TestToken, revoked: number, runs: number): CrlTiming {
  const caDir = join(dir, 'ca');
  seedCaDir(caDir, { entries: revoked, revoked });
  const { db } = loadCaDatabase(caDir);
  const ca = parseCaCertificate(readFileSync(token.caCertPath));
  const template = createCrlTemplate(ca);
  const session = openPkcs11Token({ modulePath: token.modulePath, env: { SOFTHSM2_CONF: token.conf }, label: token.label, serial: '', slotIndex: 0, keyId: null, caPublicKey: ca.publicKey });
  session.login(token.pin);
  const crlDir = join(dir, 'crl');
  let number = 0;
  let published = '';
  const oneCrl = (cache: RevokedEntryCache): void => {
    const thisUpdate = Date.now();
    const entries = cache.select(db, null);
    const tbs = buildTbsCertList(template, { number: ++number, thisUpdate, nextUpdate: thisUpdate + WEEK_MS, entries: [entries.der] });
    published = publishCrl(crlDir, number, assembleSigned(tbs, template.algorithm, session.sign(tbs)), ['pem']);
    pruneCrlCopies(crlDir, crlKeep);
  };
  try {
    // Published before the server's restart, by a cache of its own.
    const before = new RevokedEntryCache();
    for (let earlier = 0; earlier < crlKeep; earlier++) oneCrl(before);
    const cache = new RevokedEntryCache();
    const startUp = nowMs();
    cache.select(db, null);
    const encodeAtStartMs = nowMs() - startUp;
    const first = nowMs();
    oneCrl(cache);
    const firstAfterStartMs = nowMs() - first;
    const warmMs = median(timeRuns(runs, () => oneCrl(cache)));
    // The figure counts only if openssl accepts what was published.
    execFileSync('openssl', ['crl', '-in', published, '-CAfile', token.caCertPath, '-noout'], { stdio: 'pipe' });
    return { warmMs, encodeAtStartMs, firstAfterStartMs };
  } finally {
    session.close();
  }
}
