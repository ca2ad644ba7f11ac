/** The command line: MyProxy passes no arguments; --config, --help and --version are for people and tests. */
import { parseArgs } from 'node:util';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly configFile: string | undefined };

const USAGE = 'usage: etoken-ca-client [--config FILE] [--help] [--version]';

export const HELP_TEXT = `etoken-ca-client: MyProxy's certificate_issuer_program for etoken-ca.

${USAGE}

myproxy-server runs it once per logon, with no arguments, as the MyProxy
user (set certificate_issuer_program to its absolute path). It reads the
request on stdin and drops the passphrase line at once, queues the request in
the etoken-ca spool, waits for etoken-ca-server to sign it, checks that the
certificate carries the request's public key and the CA's signature, and
prints it in PEM on stdout. Failures are one line on stderr.

  --config FILE  configuration file (default: $ETOKEN_CA_CONFIG,
                 else /etc/sysconfig/etoken-ca)
  --help         print this text
  --version      print the version

Exit codes:
  0   certificate printed
  64  bad command line
  65  request malformed, too large or refused
  69  etoken-ca-server missing or unavailable (no token)
  70  certificate does not match the request, or internal error
  73  cannot create the request in the spool
  75  no answer within CLIENT_TIMEOUT seconds, the CA too busy to sign it in
      time (try again later), or stopped by a signal
  77  permission denied on the spool
  78  configuration error
`;

export function parseCommandLine(args: readonly string[]): Command {
  // As MyProxy calls it, on every logon: spares loading parseArgs (node:util loads it on first use).
  if (args.length === 0) return { kind: 'run', configFile: undefined };
  let values: { config?: string; help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { config: { type: 'string' }, help: { type: 'boolean' }, version: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    // parseArgs explains at length; its first sentence is the point.
    const why = (e as Error).message.split('. ')[0] ?? 'bad arguments';
    throw new EtokenError(ExitCode.usage, `${why}; ${USAGE}`);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  return { kind: 'run', configFile: values.config };
}
