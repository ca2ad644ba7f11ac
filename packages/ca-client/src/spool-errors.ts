/** Which exit code a failed spool operation means, and the one line that says why. */
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';

export function spoolFailure(code: string | undefined, directory: string): EtokenError {
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new EtokenError(ExitCode.unavailable, `etoken-ca spool ${directory} not found (is etoken-ca-server installed?)`);
    case 'EACCES':
    case 'EPERM':
      return new EtokenError(ExitCode.noPermission, `no permission to use the etoken-ca spool ${directory}`);
    default:
      return new EtokenError(ExitCode.cantCreate, `cannot create a request in ${directory}: ${code ?? 'unknown error'}`);
  }
}
