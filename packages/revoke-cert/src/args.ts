/** Command line of revoke-cert. */
import { COMPROMISE_REASONS, parseReason, REVOCATION_REASONS, takesCompromiseTime, type RevocationReason } from '@etoken-ca/contract/core/cadb/index-line';
import { parseCommandLine } from '@etoken-ca/contract/core/cli';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import type { CertState } from './listing.js';

export const USAGE = `Usage: revoke-cert SERIAL|CERTFILE... [--reason R [--compromise-time T]] [--no-wait] [--timeout SECONDS] [--config FILE]
       revoke-cert --list [--json] [--state S] [--subject TEXT] [--config FILE]
       revoke-cert --help

Revokes certificates of the etoken-ca CA: checks each one against the CA
database (serial in hex, or a certificate file issued by this CA), queues
the revocations, signals etoken-ca-server, and waits until a CRL listing
them is published, then prints its number. Runs as root.

--list prints the certificates in the database: serial, state (valid,
revoked, expired, withheld), not before, not after, revocation time and
reason (with the compromise time, if any), subject. --json prints the same
as a JSON array.

Options:
  --reason R      ${REVOCATION_REASONS.join(', ')} (default: unspecified)
  --compromise-time T
                  when the key was compromised, with --reason ${COMPROMISE_REASONS.join(' or ')}:
                  2026-11-20T08:30:15Z (or with an offset) or 20261120083015Z as
                  openssl ca -crl_compromise takes it; CRLs carry it as the
                  entry's Invalidity Date
  --no-wait       queue and signal, do not wait for the CRL
  --timeout S     how long to wait for the CRL (default: 60)
  --config FILE   configuration (default: $ETOKEN_CA_CONFIG, else /etc/sysconfig/etoken-ca)
  --list          list certificates
  --json          JSON instead of a table
  --state S       only certificates in state S
  --subject TEXT  only subjects containing TEXT, as typed or as index.txt
                  spells it (\\xHH for each byte of a non-ASCII character)

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
  /** Milliseconds, whole seconds. */
  compromisedAt?: number;
  wait: boolean;
  timeoutSeconds: number;
  targets: string[];
}

/** openssl ca's -crl_compromise form (YYYYMMDDHHMMSSZ) or ISO 8601 to the second with Z or an offset. */
function parseCompromiseTime(text: string, reason: RevocationReason, now: number): number {
  if (!takesCompromiseTime(reason)) throw new EtokenError(ExitCode.usage, `--compromise-time goes with --reason ${COMPROMISE_REASONS.join(' or ')} only`);
  const openssl = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
  const iso = openssl ? `${openssl[1]}-${openssl[2]}-${openssl[3]}T${openssl[4]}:${openssl[5]}:${openssl[6]}Z` : text;
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(ms) || new Date(ms).getUTCFullYear() < 1950) {
    throw new EtokenError(ExitCode.usage, `--compromise-time: ${JSON.stringify(text)} is not a time such as 2026-11-20T08:30:15Z or 20261120083015Z`);
  }
  if (ms > now) throw new EtokenError(ExitCode.usage, `--compromise-time ${text} is in the future`);
  return ms;
}

export function parseArgs(argv: readonly string[], now = Date.now()): Args {
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
      'compromise-time': { type: 'string' },
      timeout: { type: 'string' },
      state: { type: 'string' },
    },
    true,
  );
  const reason = values.reason === undefined ? 'unspecified' : parseReason(values.reason);
  if (!reason) throw new EtokenError(ExitCode.usage, `--reason must be one of ${REVOCATION_REASONS.join(', ')}`);
  const compromise = values['compromise-time'];
  const compromisedAt = compromise === undefined ? undefined : parseCompromiseTime(compromise, reason, now);
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
    ...(compromisedAt === undefined ? {} : { compromisedAt }),
    wait: !values['no-wait'],
    timeoutSeconds: Number(timeout),
    targets: positionals,
  };
  if (args.list && args.targets.length > 0) throw new EtokenError(ExitCode.usage, '--list takes no serials or files');
  return args;
}
