/** Command line of revoke-cert. */
import { parseReason, REVOCATION_REASONS, type RevocationReason } from '@etoken-ca/contract/core/cadb/index-line';
import { parseCommandLine } from '@etoken-ca/contract/core/cli';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import type { CertState } from './listing.js';

export const USAGE = `Usage: revoke-cert SERIAL|CERTFILE... [--reason R] [--no-wait] [--timeout SECONDS] [--config FILE]
       revoke-cert --list [--json] [--state S] [--subject TEXT] [--config FILE]
       revoke-cert --help

Revokes certificates of the etoken-ca CA: checks each one against the CA
database (serial in hex, or a certificate file issued by this CA), queues
the revocations, signals etoken-ca-server, and waits until a CRL listing
them is published, then prints its number. Runs as root.

--list prints the certificates in the database: serial, state (valid,
revoked, expired, withheld), not before, not after, revocation time and
reason, subject. --json prints the same as a JSON array.

Options:
  --reason R      ${REVOCATION_REASONS.join(', ')} (default: unspecified)
  --no-wait       queue and signal, do not wait for the CRL
  --timeout S     how long to wait for the CRL (default: 60)
  --config FILE   configuration (default: $ETOKEN_CA_CONFIG, else /etc/sysconfig/etoken-ca)
  --list          list certificates
  --json          JSON instead of a table
  --state S       only certificates in state S
  --subject TEXT  only subjects containing TEXT

Exit codes: 0 ok, 64 usage, 65 unknown, revoked or foreign certificate
(nothing queued), 69 server not running (revocations stay queued) or CA
database unreadable, 73 cannot write the queue, 75 no CRL within the
timeout (revocations stay queued), 77 not root, 78 configuration error.`;

const STATES: readonly CertState[] = ['valid', 'revoked', 'expired', 'withheld'];

export interface Args {
  config?: string;
  list: boolean;
  json: boolean;
  help: boolean;
  state?: CertState;
  subject?: string;
  reason: RevocationReason;
  wait: boolean;
  timeoutSeconds: number;
  targets: string[];
}

export function parseArgs(argv: readonly string[]): Args {
  const { values, positionals } = parseCommandLine(
    argv,
    {
      help: { type: 'boolean', short: 'h' },
      list: { type: 'boolean' },
      json: { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      config: { type: 'string' },
      subject: { type: 'string' },
      reason: { type: 'string' },
      timeout: { type: 'string' },
      state: { type: 'string' },
    },
    true,
  );
  const reason = values.reason === undefined ? 'unspecified' : parseReason(values.reason);
  if (!reason) throw new EtokenError(ExitCode.usage, `--reason must be one of ${REVOCATION_REASONS.join(', ')}`);
  const timeout = values.timeout ?? '60';
  if (!/^\d{1,4}$/.test(timeout) || Number(timeout) < 1) throw new EtokenError(ExitCode.usage, '--timeout needs a number of seconds from 1 to 9999');
  const state = values.state as CertState | undefined;
  if (state !== undefined && !STATES.includes(state)) throw new EtokenError(ExitCode.usage, `--state must be one of ${STATES.join(', ')}`);
  const args: Args = {
    config: values.config,
    list: values.list ?? false,
    json: values.json ?? false,
    help: values.help ?? false,
    state,
    subject: values.subject,
    reason,
    wait: !values['no-wait'],
    timeoutSeconds: Number(timeout),
    targets: positionals,
  };
  if (args.list && args.targets.length > 0) throw new EtokenError(ExitCode.usage, '--list takes no serials or files');
  return args;
}
