/** revoke-cert: lists the CA database (and queues revocations). Maps errors to exit codes. */
import { configPath, loadConfig } from '@etoken-ca/contract/config';
import { loadCaDatabase } from '@etoken-ca/contract/cadb/load';
import { EtokenError, ExitCode } from '@etoken-ca/contract/exit-codes';
import { formatTable, selectEntries, type CertState } from './listing.js';

const USAGE = `Usage: revoke-cert --list [--json] [--state valid|revoked|expired|withheld] [--subject TEXT] [--config FILE]
       revoke-cert --help

Lists the certificates in the etoken-ca database: serial, state, not after,
revocation time and reason, subject. --json prints the same as a JSON array.

Options:
  --config FILE   configuration (default: $ETOKEN_CA_CONFIG, else /etc/sysconfig/etoken-ca)
  --list          list certificates
  --json          JSON instead of a table
  --state S       only certificates in state S
  --subject TEXT  only subjects containing TEXT

Exit codes: 0 ok, 64 usage, 69 CA database unreadable, 78 configuration error.`;

const STATES: readonly CertState[] = ['valid', 'revoked', 'expired', 'withheld'];

interface Args {
  config?: string;
  list: boolean;
  json: boolean;
  help: boolean;
  state?: CertState;
  subject?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { list: false, json: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new EtokenError(ExitCode.usage, `${arg} needs a value`);
      return v;
    };
    if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === '--list') args.list = true;
    else if (arg === '--json') args.json = true;
    else if (arg === '--config') args.config = value();
    else if (arg === '--subject') args.subject = value();
    else if (arg === '--state') {
      const s = value() as CertState;
      if (!STATES.includes(s)) throw new EtokenError(ExitCode.usage, `--state must be one of ${STATES.join(', ')}`);
      args.state = s;
    } else throw new EtokenError(ExitCode.usage, `unknown argument ${arg} (see --help)`);
  }
  return args;
}

function run(argv: readonly string[]): void {
  const args = parseArgs(argv);
  if (args.help) return void process.stdout.write(`${USAGE}\n`);
  if (!args.list) throw new EtokenError(ExitCode.usage, 'nothing to do (see --help)');
  const config = loadConfig(configPath(args.config));
  const { db } = loadCaDatabase(config.caDir);
  const rows = selectEntries(db.entries(), Date.now(), { state: args.state, subject: args.subject });
  process.stdout.write(args.json ? `${JSON.stringify(rows, null, 2)}\n` : formatTable(rows));
}

try {
  run(process.argv.slice(2));
} catch (e) {
  const error = e instanceof EtokenError ? e : new EtokenError(ExitCode.software, `internal error: ${(e as Error).message}`);
  process.stderr.write(`revoke-cert: ${error.message}\n`);
  process.exitCode = error.exitCode;
}
