/**
 * `etoken-ca-server verify-journal [--config FILE]`: checks every record of
 * the CA journal and the checkpoint, read-only, without starting anything,
 * and prints where any damage is: the report the server stops with.
 */
import { join } from 'node:path';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { caLayout } from '@etoken-ca/contract/core/cadb/layout';
import { verifySegments } from '@etoken-ca/contract/io/cadb/journal-files';
import { loadCaDatabase } from '@etoken-ca/contract/io/cadb/load';
import { configPath, loadConfig } from '@etoken-ca/contract/io/load-config';

export const VERIFY_USAGE = `Usage: etoken-ca-server verify-journal [--config FILE]

Checks the CA journal (CA_DIR/journal/NNNNNNNN.jnl) record by record: each
record's length, CRC-32 checksum, closing newline and fields, the order of
the segments, and the checkpoint with index.txt. Reads only; the server may
run meanwhile. Prints one line per segment and what is wrong, if anything.

An incomplete last record (a crash during an append: the server cuts it off
at start-up) is reported, and is not damage. A record that is not whole
followed by whole ones is damage: the records after it were written and may
have been acknowledged to clients, so the server never cuts them, and does
not start on such a journal (exit 65). Keep a copy of CA_DIR before anything
else; if the damage lies after the last record a client can have been
answered for (say, a power cut right after it), the segment may be cut at
the byte printed (truncate -s BYTE FILE) to start again.

Exit codes: 0 whole, 65 damaged, 78 a segment in the format of an earlier
version (not read by this one), 69 the files cannot be read.`;

export function runVerifyJournal(argv: readonly string[]): void {
  let configFlag: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return void process.stdout.write(`${VERIFY_USAGE}\n`);
    if (arg === '--config' && argv[i + 1] !== undefined) configFlag = argv[++i];
    else if (arg.startsWith('--config=')) configFlag = arg.slice('--config='.length);
    else throw new EtokenError(ExitCode.usage, `verify-journal: unknown argument ${arg} (see --help)`);
  }
  const config = loadConfig(configPath(configFlag));
  const layout = caLayout(config.caDir);
  const out: string[] = [`${layout.journal}:`];
  const { segments, damaged } = verifySegments(layout.journal);
  if (segments.length === 0) out.push('  no segments (an empty CA database)');
  for (const s of segments) {
    out.push(`  ${s.name}  ${String(s.bytes).padStart(10)} bytes  ${String(s.records).padStart(8)} records  ${s.problem ?? 'whole'}`);
  }
  let exit: ExitCode = damaged ? ExitCode.dataError : ExitCode.ok;
  if (segments.some((s) => s.problem?.includes('earlier version'))) exit = ExitCode.config;
  if (exit === ExitCode.ok) {
    try {
      const loaded = loadCaDatabase(config.caDir);
      const c = loaded.checkpoint;
      out.push(
        `checkpoint ${c.generation}: index.txt (${c.indexBytes} bytes, ${loaded.indexRows} certificates) reflects the journal up to ${join('journal', `${String(c.segment).padStart(8, '0')}.jnl`)} byte ${c.offset}; ${loaded.replayed} records after it`,
        `database: ${loaded.db.size} certificates, next CRL number ${loaded.db.crlState.lastNumber + 1}`,
      );
    } catch (e) {
      out.push(`cannot load the database: ${(e as Error).message}`);
      exit = e instanceof EtokenError ? e.exitCode : ExitCode.software;
    }
  }
  out.push(exit === ExitCode.ok ? 'result: whole' : `result: ${exit === ExitCode.config ? 'not readable by this version' : 'damaged'} (exit ${exit})`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (exit !== ExitCode.ok) process.exitCode = exit;
}
