/** `etoken-ca-server install|uninstall [--prefix DIR] [--dry-run]`. */
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import { install, uninstall } from './installer.js';
import { checkPrefix } from './manifest.js';
import { codeRootOf, runningServerPackage } from './runtime-files.js';

const USAGE = `Usage: etoken-ca-server install [--prefix DIR] [--dry-run]
       etoken-ca-server uninstall [--prefix DIR] [--dry-run]

install (as root) copies the programs to /usr/local/lib/etoken-ca with
wrappers in /usr/local/sbin (etoken-ca-server, revoke-cert) and
/usr/local/bin (etoken-ca-client), creates the accounts CA_USER and
PARSER_USER when missing, the CA directory, the revocation queue, the CRL
directory and the spool with their owners and modes, installs
/etc/sysconfig/etoken-ca unless it exists, the systemd unit and a
myproxy-server drop-in that names the configuration, and says what is left
to do. Running it again changes nothing that is already in place.

uninstall removes the programs, the wrappers, the unit and the drop-in; it
never removes the configuration, the CA database, the spool or the accounts.

Options:
  --prefix DIR  install everything under DIR (paths in the files move with it)
  --dry-run     say what would be done, do nothing`;

export function runInstallCommand(argv: readonly string[]): void {
  const [command, ...rest] = argv;
  let prefix = '';
  let dryRun = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--help' || arg === '-h') return void process.stdout.write(`${USAGE}\n`);
    if (arg === '--dry-run') dryRun = true;
    else if (arg === '--prefix' && rest[i + 1] !== undefined) prefix = rest[++i]!.replace(/\/+$/, '');
    else throw new EtokenError(ExitCode.usage, `${command}: unknown argument ${arg} (see ${command} --help)`);
  }
  const badPrefix = checkPrefix(prefix);
  if (badPrefix) throw new EtokenError(ExitCode.usage, `--prefix ${prefix}: ${badPrefix}`);
  if (process.getuid?.() !== 0) throw new EtokenError(ExitCode.noPermission, `${command} must run as root`);
  const options = { prefix, dryRun, codeRoot: codeRootOf(runningServerPackage()), out: (line: string) => process.stdout.write(`${line}\n`) };
  if (command === 'install') install(options);
  else uninstall(options);
}
