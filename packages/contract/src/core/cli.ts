/**
 * Command lines of the three programs, through node:util parseArgs (strict),
 * with its errors turned into a one-line usage error (exit 64).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EtokenError, ExitCode } from './exit-codes.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

type Parsed<O extends OptionSpec> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: boolean }>>;

export function parseCommandLine<O extends OptionSpec>(argv: readonly string[], options: O, allowPositionals = false): Parsed<O> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals });
  } catch (e) {
    throw new EtokenError(ExitCode.usage, `${(e as Error).message.split('\n')[0]} (see --help)`);
  }
}
