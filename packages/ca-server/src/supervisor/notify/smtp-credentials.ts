/**
 * SMTP_CREDENTIALS_FILE: "user:password" on one line, in a file only root
 * can read. Checked on its descriptor (O_NOFOLLOW, then fstat) at start-up;
 * anything else is a configuration error.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

export interface SmtpCredentials {
  readonly user: string;
  readonly pass: string;
}

const MAX_BYTES = 4096;

export class CredentialsFileError extends Error {
  override readonly name = 'CredentialsFileError';
}

export function parseCredentials(text: string): SmtpCredentials {
  const line = text.replace(/\r?\n$/, '');
  const colon = line.indexOf(':');
  if (line.includes('\n') || colon <= 0 || colon === line.length - 1) throw new CredentialsFileError('must hold one line "user:password"');
  return { user: line.slice(0, colon), pass: line.slice(colon + 1) };
}

/** Why a file with this owner and mode cannot hold credentials, or null. */
export function credentialsFileProblem(stat: { uid: number; mode: number; isFile(): boolean }): string | null {
  if (!stat.isFile()) return 'is not a regular file';
  if (stat.uid !== 0) return 'is not owned by root';
  if ((stat.mode & 0o077) !== 0) return 'is readable or writable by group or others (chmod 600 it)';
  return null;
}

export function readCredentialsFile(path: string): SmtpCredentials {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new CredentialsFileError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const buf = Buffer.alloc(MAX_BYTES + 1);
  try {
    const problem = credentialsFileProblem(fstatSync(fd));
    if (problem) throw new CredentialsFileError(`${path} ${problem}`);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_BYTES) throw new CredentialsFileError(`${path} is longer than ${MAX_BYTES} bytes`);
    return parseCredentials(buf.toString('utf8', 0, n));
  } finally {
    buf.fill(0);
    closeSync(fd);
  }
}
