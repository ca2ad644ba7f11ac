/** The console PIN source as the server configures it: PIN_TTY, and ALLOW_NON_VT_PIN_TTY for anything but a VT. */
import type { Config } from '@etoken-ca/contract/core/config';
import { EtokenError, ExitCode } from '@etoken-ca/contract/core/exit-codes';
import type { AuditLog } from '../audit-log.js';
import { ConsolePinSource } from './console-pin-source.js';
import { NotVirtualConsoleError, openPinTty, PinTtyError, type PinTty } from './tty-terminal.js';

export function openConsolePinSource(config: Config, log: AuditLog): ConsolePinSource {
  let tty: PinTty;
  try {
    tty = openPinTty(config.pinTty, config.allowNonVtPinTty);
  } catch (e) {
    if (!(e instanceof PinTtyError)) throw e;
    const hint = e instanceof NotVirtualConsoleError ? '; ALLOW_NON_VT_PIN_TTY=yes accepts it (tests and diagnostics only)' : '';
    throw new EtokenError(ExitCode.config, `${config.file}: PIN_TTY: ${e.message}${hint}`);
  }
  return new ConsolePinSource(tty, {
    warnEachUse: tty.virtualConsole ? undefined : (message) => log.warn({ event: 'pin.non-console', tty: tty.path }, message),
    onFailure: (message) => log.error({ event: 'pin.console-failed', tty: tty.path }, message),
  });
}
