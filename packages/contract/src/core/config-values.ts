/**
 * The value parsers of the sysconfig file's keys: each takes the raw text and
 * returns the value, or throws a one-line reason that the config parser
 * puts after the file, line and key.
 */
import { isAbsolute } from 'node:path';

export type Parser<T> = (raw: string) => T;

export function fail(why: string): never {
  throw new Error(why);
}

export const str: Parser<string> = (raw) => raw;
export const path: Parser<string> = (raw) => (isAbsolute(raw) ? raw : fail('must be an absolute path'));
export const optionalPath: Parser<string> = (raw) => (raw === '' ? '' : path(raw));
export const userName: Parser<string> = (raw) =>
  /^[a-z_][a-z0-9_-]{0,31}$/.test(raw) ? raw : fail('must be a user or group name');
export const bool: Parser<boolean> = (raw) => {
  if (/^(yes|true|1)$/i.test(raw)) return true;
  if (/^(no|false|0)$/i.test(raw)) return false;
  return fail('must be yes or no');
};
export const list = (raw: string): string[] => (raw.trim() === '' ? [] : raw.split(',').map((s) => s.trim()));
export const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^\d+$/.test(raw)) fail(`must be a whole number from ${min} to ${max}`);
    const n = Number(raw);
    return n >= min && n <= max ? n : fail(`must be a whole number from ${min} to ${max}`);
  };

