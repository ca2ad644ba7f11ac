/** Command line of etoken-ca-server. */
import { EtokenError, ExitCode } from '@etoken-ca/contract/exit-codes';

export interface ServerArgs {
  readonly config?: string;
  readonly pinFd?: number;
  readonly help: boolean;
  readonly version: boolean;
}

export const USAGE = `Usage: etoken-ca-server [--config FILE] [--pin-fd N]
       etoken-ca-server --help | --version

Runs the etoken-ca certificate authority for MyProxy: watches the request
spool, has a request parser (PARSER_USER) turn requests into plain fields and a
signer (CA_USER) sign certificates with the CA key on the PKCS#11 token, and
records every certificate in the CA database before it is answered. Runs as
root, normally from systemd (etoken-ca.service). Audit log: JSON on stdout.

Options:
  --config FILE  configuration (default: $ETOKEN_CA_CONFIG, else /etc/sysconfig/etoken-ca)
  --pin-fd N     read the token PIN from descriptor N instead of the console;
                 only with ALLOW_PIN_FD=yes in the configuration (logged as a warning)
  --help         this text
  --version      the version

Signals: SIGTERM/SIGINT stop after the requests in flight; SIGUSR1 processes the
revocation queue.
Exit codes: 0 stopped cleanly, 64 usage, 69 token or service unavailable,
70 internal error, 73 cannot create, 77 not root, 78 configuration error.`;

export function parseServerArgs(argv: readonly string[]): ServerArgs {
  let config: string | undefined;
  let pinFd: number | undefined;
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new EtokenError(ExitCode.usage, `${arg} needs a value`);
      return v;
    };
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--version') version = true;
    else if (arg === '--config') config = value();
    else if (arg.startsWith('--config=')) config = arg.slice(9);
    else if (arg === '--pin-fd') {
      const v = value();
      if (!/^\d{1,4}$/.test(v) || Number(v) < 3) throw new EtokenError(ExitCode.usage, '--pin-fd needs a descriptor number >= 3');
      pinFd = Number(v);
    } else throw new EtokenError(ExitCode.usage, `unknown argument ${arg} (see --help)`);
  }
  return { config, pinFd, help, version };
}
