/** Reading the CA directory's files, where a missing file is a normal state and any other failure is not. */
import { readFileSync } from 'node:fs';
import { EtokenError, ExitCode } from '../../core/exit-codes.js';

export function cannotRead(path: string, e: unknown): EtokenError {
  return new EtokenError(ExitCode.unavailable, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code}`);
}

/** The file's bytes, or null when it does not exist. */
export function readOptional(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw cannotRead(path, e);
  }
}
