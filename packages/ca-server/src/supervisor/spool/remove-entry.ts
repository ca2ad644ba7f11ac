/**
 * Removes one name from the client-writable spool directory, whatever the
 * client made it: unlink for files, symlinks, FIFOs and sockets, rmdir for
 * an empty directory. A non-empty directory stays: root never walks into a
 * directory the client controls. Never follows a link.
 */
import { lstatSync, rmdirSync, unlinkSync } from 'node:fs';

/** True when the name is gone afterwards. */
export function removeSpoolName(path: string): boolean {
  try {
    if (lstatSync(path).isDirectory()) rmdirSync(path);
    else unlinkSync(path);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
