/**
 * `etoken-ca-server import-openssl-ca DIR [--config FILE]`: takes an
 * existing `openssl ca` directory into the journal, as root, with the server
 * stopped and the CA database empty. The records are flushed, then the
 * store is opened once more, as at a start, to derive index.txt, newcerts/
 * and crlnumber from them.
 */
import { resolve } from 'node:path';
import { configPath, loadConfig } from '@etoken-ca/contract/io/load-config';
import { loadCaDatabase } from '@etoken-ca/contract/io/cadb/load';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { createLogger } from '../log.js';
import { lockCaDirectory } from '../store/ca-dir-lock.js';
import { CaStore } from '../store/ca-store.js';
import { importRecords } from './import-records.js';
import { readOpensslCaDir } from './openssl-ca-dir.js';

const USAGE = `Usage: etoken-ca-server import-openssl-ca DIR [--config FILE]

Takes the openssl ca directory DIR (index.txt, serial, crlnumber, newcerts/)
into the CA database of the configuration: every certificate with its state
(valid, revoked with time and reason, expired) and, from newcerts/, its
certificate; CRL numbers continue after the last one openssl ca used. Runs as
root with etoken-ca-server stopped (refused with exit 75 while a server or
another import writes the CA directory), into an empty CA database only. DIR
is only read.`;

export async function runImportCommand(argv: readonly string[]): Promise<void> {
  let dir: string | undefined;
  let configFlag: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return void process.stdout.write(`${USAGE}\n`);
    if (arg === '--config' && argv[i + 1] !== undefined) configFlag = argv[++i];
    else if (!arg.startsWith('-') && dir === undefined) dir = resolve(arg);
    else throw new EtokenError(ExitCode.usage, `import-openssl-ca: unknown argument ${arg} (see --help)`);
  }
  if (!dir) throw new EtokenError(ExitCode.usage, 'import-openssl-ca needs the openssl ca directory (see --help)');
  const config = loadConfig(configPath(configFlag));
  if (process.getuid?.() !== 0) throw new EtokenError(ExitCode.noPermission, 'import-openssl-ca must run as root');
  // A running server holds the lock: refused (exit 75) before the CA directory is read.
  const unlock = lockCaDirectory(config.caDir);
  let source: ReturnType<typeof readOpensslCaDir>;
  try {
    const { db } = loadCaDatabase(config.caDir);
    if (db.size > 0 || db.crlState.lastNumber > 0) {
      throw new EtokenError(ExitCode.cantCreate, `${config.caDir} already holds a CA database (${db.size} certificates): import only into an empty one`);
    }
    source = readOpensslCaDir(dir);
    const records = importRecords(source, Date.now());
    const store = await CaStore.open(config.caDir);
    for (const record of records) store.append(record);
    await store.commit();
    store.close();
    // Opened once more, as at a start: index.txt, newcerts/ and crlnumber derived from the records, and a checkpoint.
    (await CaStore.open(config.caDir)).close();
  } finally {
    unlock();
  }

  const count = (status: string): number => source.certs.filter((c) => c.entry.status === status).length;
  const summary = {
    event: 'db.imported',
    from: dir,
    certificates: source.certs.length,
    valid: count('V'),
    revoked: count('R'),
    expired: count('E'),
    withCertificate: source.certs.filter((c) => c.der).length,
    onlyInNewcerts: source.certs.filter((c) => c.unlisted).length,
    nextCrlNumber: Number(source.nextCrlNumber ?? 1n),
  };
  createLogger(config.logLevel).info(summary, `imported ${summary.certificates} certificates from ${dir}`);
  process.stdout.write(
    [
      `Imported ${summary.certificates} certificates from ${dir} into ${config.caDir}:`,
      `  ${summary.valid} valid, ${summary.revoked} revoked, ${summary.expired} marked expired; ${summary.withCertificate} with their certificate from newcerts/`,
      ...(summary.onlyInNewcerts > 0 ? [`  ${summary.onlyInNewcerts} found only in newcerts/ (kept as valid, so their serials stay taken)`] : []),
      `  the next CRL will be number ${summary.nextCrlNumber}`,
      `  ${dir} was not changed; check the result with: revoke-cert --list`,
      '',
    ].join('\n'),
  );
}
