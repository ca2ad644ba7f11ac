/** Command line of etoken-ca-server. */
import { parseCommandLine } from '@etoken-ca/contract/core/cli';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';

export interface ServerArgs {
  readonly config?: string;
  readonly pinFd?: number;
  readonly usbEventsFrom?: string;
  readonly check: boolean;
  readonly tokenSelftest: boolean;
  readonly signingPolicy: boolean;
  readonly help: boolean;
  readonly version: boolean;
}

export const USAGE = `Usage: etoken-ca-server [--config FILE] [--pin-fd N] [--usb-events-from FIFO]
       etoken-ca-server --check [--config FILE]
       etoken-ca-server --token-selftest [--config FILE] [--pin-fd N]
       etoken-ca-server --signing-policy [--config FILE]
       etoken-ca-server install|uninstall [--prefix DIR] [--dry-run]
       etoken-ca-server import-openssl-ca DIR [--config FILE]
       etoken-ca-server verify-journal [--config FILE]
       etoken-ca-server scep challenge|approve|pending|issue-ra-cert ... (etoken-ca-server scep --help)
       etoken-ca-server --help | --version

Runs the etoken-ca certificate authority for MyProxy: watches the request
spool, has a request parser (PARSER_USER) turn requests into plain fields and a
signer (CA_USER) sign certificates with the CA key on the PKCS#11 token, and
records every certificate in the CA database before it is answered. Runs as
root, normally from systemd (etoken-ca.service). Audit log: JSON on stdout.
The token PIN is typed on the console PIN_TTY (a Linux virtual console), and
asked again there whenever the token has been removed and put back.
When CA_DIR's filesystem has less free space than CA_DISK_RESERVE_MB,
certificate requests are refused (the client exits 75, "CA disk full") while
revocations and CRLs go on; requests are taken again once space is back.

Options:
  --config FILE  configuration (default: $ETOKEN_CA_CONFIG, else /etc/sysconfig/etoken-ca)
  --pin-fd N     read the token PIN from descriptor N instead of the console;
                 only with ALLOW_PIN_FD=yes in the configuration (logged as a warning);
                 a rejected PIN is then not asked again
  --usb-events-from FIFO
                 test and diagnostic port: also take USB hotplug events of the
                 token as lines "attach"/"detach" from FIFO, which must be a
                 FIFO owned by root and writable by nobody else (logged as a warning)
  --check        run the self-audit (config, file owners and modes, spool, token
                 and CA key, CA certificate, last CRL) and exit: 0 passed, 78
                 configuration or file problems, 69 token problems; no PIN, no
                 writes. The server runs the same audit at every start.
  --token-selftest
                 check a token model with the product: find the token and its CA
                 key, report its PIN counter from the token's flags (no try used),
                 then log in (PIN on the console PIN_TTY, or --pin-fd) and time 5
                 signatures of a test text; the PIN is never tried on a locked
                 token, nor at a final try without the console's confirmation.
                 Exit 0 passed, 69 token not usable, 77 PIN refused or not tried.
  --signing-policy
                 print the CA's signing_policy file (Globus EACL) for relying
                 parties: the CA certificate's subject and the subjects it signs
                 (SUBJECT_NAMESPACE, else DN_FORMAT's fixed part); install it as
                 <hash>.signing_policy beside <hash>.0 in their trust directory
  --help         this text
  --version      the version

Subcommands (see their --help):
  install, uninstall   put the programs, unit and directories in place, or
                       take the programs and unit away (never the CA database)
  import-openssl-ca    take an existing openssl ca directory into the CA database
  verify-journal       check every record of the CA journal, read-only, and print
                       where any damage is (the server does not start on damage)

Signals: SIGTERM/SIGINT stop after the requests in flight; SIGUSR1 processes the
revocation queue; SIGUSR2, SIGHUP and SIGPIPE are ignored, in every process of
the server.
Exit codes: 0 stopped cleanly, 64 usage, 65 the CA journal is damaged (see
verify-journal), 69 token or service unavailable, 70 internal error, 73 cannot
create, 75 CA_DIR in use by another server or import (CA_DIR/server.lock), 77 not
root, 78 configuration error (or a journal of an earlier version).`;

export function parseServerArgs(argv: readonly string[]): ServerArgs {
  const { values } = parseCommandLine(argv, {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
    check: { type: 'boolean' },
    'token-selftest': { type: 'boolean' },
    'signing-policy': { type: 'boolean' },
    config: { type: 'string' },
    'pin-fd': { type: 'string' },
    'usb-events-from': { type: 'string' },
  });
  const pinFd = values['pin-fd'];
  if (pinFd !== undefined && (!/^\d{1,4}$/.test(pinFd) || Number(pinFd) < 3)) {
    throw new EtokenError(ExitCode.usage, '--pin-fd needs a descriptor number >= 3');
  }
  return {
    config: values.config,
    pinFd: pinFd === undefined ? undefined : Number(pinFd),
    usbEventsFrom: values['usb-events-from'],
    check: values.check ?? false,
    tokenSelftest: values['token-selftest'] ?? false,
    signingPolicy: values['signing-policy'] ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
  };
}
