/** sysexits(3) values shared by all three programs. */
export const ExitCode = {
  ok: 0,
  usage: 64,
  dataError: 65,
  unavailable: 69,
  software: 70,
  cantCreate: 73,
  tempFail: 75,
  noPermission: 77,
  config: 78,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the operator or the MyProxy log: one line, with the exit code to use. */
export class EtokenError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message.replace(/[\r\n]+/g, ' '));
    this.name = 'EtokenError';
  }
}

/** Refusal of a request because of what the request says (exit 65). */
export function badRequest(message: string): EtokenError {
  return new EtokenError(ExitCode.dataError, message);
}
